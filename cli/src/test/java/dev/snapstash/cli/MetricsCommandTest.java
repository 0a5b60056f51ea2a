package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.metrics.RunMetrics;
import dev.snapstash.core.metrics.Textfile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.SortedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics textfile as the verbs leave it: the exit code it records is the one the process ends with. Real
 * rsync, git and tar; the command quiescer runs {@code true}.
 */
class MetricsCommandTest {
  @TempDir Path tmp;
  Path home;
  Path config;
  Path prom;

  @BeforeEach
  void setUp() throws Exception {
    home = tmp.resolve("home");
    Path repo = home.resolve("shared/data/repositories/1");
    Files.createDirectories(repo.getParent());
    Process git = new ProcessBuilder("git", "init", "-q", "--bare", repo.toString()).inheritIO().start();
    assertThat(git.waitFor()).isZero();
    Files.writeString(home.resolve("shared/bitbucket.properties"), "setup.displayName=test\n");
    prom = tmp.resolve("textfile_collector/snapstash.prom");
    config = tmp.resolve("snapstash.yml");
    Files.writeString(config,
        "instance:\n  name: bb\n  home: " + home + "\n"
            + "backup:\n  root: " + tmp.resolve("backups") + "\n  free-space-margin-mib: 0\n"
            + "quiesce:\n  type: command\n  command:\n    lock: [\"true\"]\n    unlock: [\"true\"]\n"
            + "database:\n  type: none\n"
            + "archive:\n"
            + "  - {name: offsite, type: tar, path: " + Files.createDirectories(tmp.resolve("offsite")) + "}\n"
            + "  - {name: nas, type: tar, path: " + tmp.resolve("not-mounted") + "}\n"
            + "metrics:\n  textfile: " + prom + "\n");
  }

  private HelpTest.Run run(String... args) {
    return HelpTest.snapstash(Stream.concat(Stream.of("-c", config.toString()), Stream.of(args)).toArray(String[]::new));
  }

  private Optional<Double> value(String name, String... labels) throws Exception {
    SortedMap<String, String> want = Textfile.Sample.of(0, labels).labels();
    return Textfile.parse(Files.readString(prom)).stream()
        .filter(f -> f.name().equals(name))
        .flatMap(f -> f.samples().stream())
        .filter(s -> s.labels().equals(want))
        .map(Textfile.Sample::value)
        .findFirst();
  }

  @Test
  void theRecordedExitCodeIsTheOneTheVerbEndsWith() throws Exception {
    HelpTest.Run backup = run("backup");
    assertThat(backup.exit()).as(backup.err()).isEqualTo(12);
    String[] b = {RunMetrics.INSTANCE, "bb", "operation", "backup"};
    assertThat(value(RunMetrics.LAST_RUN_EXIT_CODE, b)).contains(12.0);
    assertThat(value(RunMetrics.LAST_RUN_SUCCESS, b)).contains(0.0);
    assertThat(value(RunMetrics.LAST_SUCCESS_TIMESTAMP, b)).isEmpty();
    assertThat(value(RunMetrics.BACKUPS, RunMetrics.INSTANCE, "bb")).as("the local backup is complete").contains(1.0);
    assertThat(value(RunMetrics.ARCHIVE_SUCCESS, RunMetrics.INSTANCE, "bb", "destination", "offsite", "type", "tar"))
        .contains(1.0);
    assertThat(value(RunMetrics.ARCHIVE_SUCCESS, RunMetrics.INSTANCE, "bb", "destination", "nas", "type", "tar"))
        .contains(0.0);

    HelpTest.Run verify = run("verify");
    assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
    String[] v = {RunMetrics.INSTANCE, "bb", "operation", "verify"};
    assertThat(value(RunMetrics.LAST_RUN_EXIT_CODE, v)).contains(0.0);
    assertThat(value(RunMetrics.VERIFY_SUCCESS, RunMetrics.INSTANCE, "bb")).contains(1.0);

    Path backups = tmp.resolve("backups");
    Path damaged;
    try (Stream<Path> s = Files.list(backups)) {
      damaged = s.filter(p -> p.getFileName().toString().startsWith("bb-")).findFirst().orElseThrow();
    }
    Files.writeString(damaged.resolve("home/shared/bitbucket.properties"), "setup.displayName=damaged\n");
    HelpTest.Run bad = run("verify");
    assertThat(bad.exit()).isEqualTo(11);
    assertThat(value(RunMetrics.LAST_RUN_EXIT_CODE, v)).contains(11.0);
    assertThat(value(RunMetrics.VERIFY_SUCCESS, RunMetrics.INSTANCE, "bb")).contains(0.0);
    assertThat(value(RunMetrics.LAST_RUN_EXIT_CODE, b)).as("the backup's run is kept").contains(12.0);
  }
}
