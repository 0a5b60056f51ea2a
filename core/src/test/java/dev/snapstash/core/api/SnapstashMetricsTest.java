package dev.snapstash.core.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.engine.Retention;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.metrics.RunMetrics;
import dev.snapstash.core.metrics.Textfile;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics textfile as the facade writes it after real runs (rsync and git on a temporary home, the command
 * quiescer): parsed strictly, and every value checked against the run and its manifest.
 */
class SnapstashMetricsTest {
  @TempDir Path tmp;
  Path home;
  Path root;
  Path prom;
  final ProcessRunner runner = new ProcessRunner();

  @BeforeEach
  void home() throws Exception {
    home = tmp.resolve("home");
    root = tmp.resolve("backups");
    prom = tmp.resolve("textfile_collector/snapstash.prom");
    Path repo = home.resolve("shared/data/repositories/1");
    Files.createDirectories(repo.getParent());
    runner.run(Command.of("git", "init", "-q", "--bare", repo.toString()).discardingStdout());
    Files.writeString(home.resolve("shared/bitbucket.properties"), "setup.displayName=test\n");
  }

  private Snapstash snapstash(String lock, Path textfile) throws Exception {
    String yml =
        "instance:\n  name: bb\n  home: " + home + "\n"
            + "backup:\n  root: " + root + "\n  free-space-margin-mib: 0\n"
            + "quiesce:\n  type: command\n  command:\n    lock: [\"" + lock + "\"]\n    unlock: [\"true\"]\n"
            + "disk:\n  type: rsync\n"
            + "database:\n  type: none\n"
            + (textfile == null ? "" : "metrics:\n  textfile: " + textfile + "\n");
    Path config = tmp.resolve("snapstash.yml");
    Files.writeString(config, yml);
    // Not the CLI's map, which core cannot see: distinct codes, so that the test sees which kind was mapped.
    return Snapstash.configure(ConfigLoader.load(config, Map.of())).runner(runner).version("test")
        .exitCodes(k -> 100 + k.ordinal()).build();
  }

  private Snapstash snapstash() throws Exception {
    return snapstash("true", prom);
  }

  /** The value of one series, or empty; the file is parsed strictly on every call. */
  private Optional<Double> value(String name, String... labels) throws Exception {
    SortedMap<String, String> want = Textfile.Sample.of(0, labels).labels();
    return Textfile.parse(Files.readString(prom)).stream()
        .filter(f -> f.name().equals(name))
        .flatMap(f -> f.samples().stream())
        .filter(s -> s.labels().equals(want))
        .map(Textfile.Sample::value)
        .findFirst();
  }

  private double seconds(java.time.Instant t) {
    return t.toEpochMilli() / 1000.0;
  }

  @Test
  void aBackupWritesItsRunAndTheBackupsFiguresFromItsManifest() throws Exception {
    long before = System.currentTimeMillis();
    Manifest m = snapstash().backup(Progress.NONE);
    long after = System.currentTimeMillis();

    List<Textfile.Family> families = Textfile.parse(Files.readString(prom));
    assertThat(families).allSatisfy(f -> {
      assertThat(f.type()).isEqualTo("gauge");
      assertThat(f.help()).isNotBlank();
      assertThat(RunMetrics.HELP).containsKey(f.name());
    });
    String[] run = {"instance_name", "bb", "operation", "backup"};
    assertThat(value(RunMetrics.LAST_RUN_SUCCESS, run)).contains(1.0);
    assertThat(value(RunMetrics.LAST_RUN_EXIT_CODE, run)).contains(0.0);
    double ended = value(RunMetrics.LAST_RUN_TIMESTAMP, run).orElseThrow();
    assertThat(ended).isBetween(before / 1000.0, after / 1000.0);
    assertThat(value(RunMetrics.LAST_SUCCESS_TIMESTAMP, run)).contains(ended);
    assertThat(value(RunMetrics.LAST_RUN_DURATION, run).orElseThrow())
        // Less a millisecond: each end of the manifest's span is rounded down to one on its own.
        .isBetween((m.totalMillis() - 1) / 1000.0, (after - before) / 1000.0);

    assertThat(value(RunMetrics.BACKUPS, "instance_name", "bb")).contains(1.0);
    assertThat(value(RunMetrics.NEWEST_BACKUP_TIMESTAMP, "instance_name", "bb")).contains(seconds(m.startedAt()));
    assertThat(m.lockWindowMillis()).isNotNull();
    assertThat(value(RunMetrics.LOCK_WINDOW, "instance_name", "bb")).contains(m.lockWindowMillis() / 1000.0);
    assertThat(value(RunMetrics.BACKUP_DURATION, "instance_name", "bb")).contains(m.totalMillis() / 1000.0);
    assertThat(value(RunMetrics.BACKUP_SIZE, "instance_name", "bb")).contains((double) m.bytes());
    assertThat(m.home().bytesWritten()).isPositive();
    assertThat(value(RunMetrics.BYTES_WRITTEN, "instance_name", "bb", "part", "home", "strategy", "rsync"))
        .contains((double) m.home().bytesWritten());
    assertThat(value(RunMetrics.STRATEGY_INFO, "instance_name", "bb", "quiesce", "command", "disk", "rsync", "database", "none"))
        .contains(1.0);
    assertThat(value(RunMetrics.VERIFY_SUCCESS, "instance_name", "bb")).as("never verified").isEmpty();
    assertThat(value(RunMetrics.NEWEST_VERIFIED_TIMESTAMP, "instance_name", "bb")).isEmpty();
  }

  /**
   * A verify keeps the backup's figures, adds its own; a failed one is a failure in the metrics with its exit code,
   * keeps the time of the last success, and the backup it failed no longer counts as verified.
   */
  @Test
  void verifyKeepsTheBackupsFiguresAndAFailedOneShowsItsExitCodeAndKeepsTheLastSuccess() throws Exception {
    Snapstash s = snapstash();
    Manifest m = s.backup(Progress.NONE);
    String backupText = Files.readString(prom);
    double backupEnded = value(RunMetrics.LAST_RUN_TIMESTAMP, "instance_name", "bb", "operation", "backup").orElseThrow();

    VerifyEngine.Report ok = s.verify(new Snapstash.VerifyRequest(m.tag(), false, null, false), Progress.NONE);
    assertThat(ok.ok()).as(ok.checks().toString()).isTrue();
    String[] verify = {"instance_name", "bb", "operation", "verify"};
    assertThat(value(RunMetrics.LAST_RUN_SUCCESS, verify)).contains(1.0);
    assertThat(value(RunMetrics.LAST_RUN_EXIT_CODE, verify)).contains(0.0);
    double verifiedAt = value(RunMetrics.LAST_SUCCESS_TIMESTAMP, verify).orElseThrow();
    assertThat(value(RunMetrics.VERIFY_SUCCESS, "instance_name", "bb")).contains(1.0);
    Manifest verified = s.list().entries().get(0).manifest();
    assertThat(value(RunMetrics.VERIFY_TIMESTAMP, "instance_name", "bb")).contains(seconds(verified.verification().at()));
    assertThat(value(RunMetrics.NEWEST_VERIFIED_TIMESTAMP, "instance_name", "bb")).contains(seconds(m.startedAt()));
    // The backup's own lines are still there, unchanged.
    assertThat(value(RunMetrics.LAST_RUN_TIMESTAMP, "instance_name", "bb", "operation", "backup")).contains(backupEnded);
    for (String line : backupText.split("\n")) {
      if (line.startsWith("snapstash_backup") || line.contains("operation=\"backup\"")) {
        assertThat(Files.readString(prom)).contains(line + "\n");
      }
    }

    Files.writeString(root.resolve(m.tag()).resolve("home/shared/bitbucket.properties"), "setup.displayName=damaged\n");
    VerifyEngine.Report bad = s.verify(new Snapstash.VerifyRequest(m.tag(), false, null, false), Progress.NONE);
    assertThat(bad.ok()).isFalse();
    assertThat(value(RunMetrics.LAST_RUN_SUCCESS, verify)).contains(0.0);
    assertThat(value(RunMetrics.LAST_RUN_EXIT_CODE, verify)).contains(100.0 + ErrorKind.VERIFICATION.ordinal());
    assertThat(value(RunMetrics.LAST_SUCCESS_TIMESTAMP, verify)).as("the last success is kept").contains(verifiedAt);
    assertThat(value(RunMetrics.VERIFY_SUCCESS, "instance_name", "bb")).contains(0.0);
    assertThat(value(RunMetrics.NEWEST_VERIFIED_TIMESTAMP, "instance_name", "bb")).as("no good backup now").isEmpty();
  }

  @Test
  void aFailedBackupIsAFailureWithItsExitCodeAndTheBackupsAlreadyThereStillCount() throws Exception {
    Manifest m = snapstash().backup(Progress.NONE);
    String[] run = {"instance_name", "bb", "operation", "backup"};
    double succeeded = value(RunMetrics.LAST_SUCCESS_TIMESTAMP, run).orElseThrow();

    Snapstash failing = snapstash("false", prom);
    SnapstashException e = (SnapstashException) org.assertj.core.api.Assertions.catchThrowable(() -> failing.backup(Progress.NONE));
    assertThat(e).isNotNull();
    assertThat(value(RunMetrics.LAST_RUN_SUCCESS, run)).contains(0.0);
    assertThat(value(RunMetrics.LAST_RUN_EXIT_CODE, run)).contains(100.0 + e.kind().ordinal());
    assertThat(value(RunMetrics.LAST_RUN_TIMESTAMP, run).orElseThrow()).isGreaterThan(succeeded);
    assertThat(value(RunMetrics.LAST_SUCCESS_TIMESTAMP, run)).contains(succeeded);
    assertThat(value(RunMetrics.BACKUPS, "instance_name", "bb")).contains(1.0);
    assertThat(value(RunMetrics.NEWEST_BACKUP_TIMESTAMP, "instance_name", "bb")).contains(seconds(m.startedAt()));
  }

  @Test
  void aPruneIsMeteredButADryRunIsNotAndAnotherInstancesSeriesAreKept() throws Exception {
    Files.createDirectories(prom.getParent());
    Files.writeString(prom, "# HELP snapstash_backups x\n# TYPE snapstash_backups gauge\nsnapstash_backups{instance_name=\"other\"} 7\n"
        + "# HELP snapstash_gone_metric x\n# TYPE snapstash_gone_metric gauge\nsnapstash_gone_metric 1\n");
    Snapstash s = snapstash();
    s.backup(Progress.NONE);
    s.backup(Progress.NONE);
    s.prune(new Retention.Policy(1, 0, 0, 0), true);
    assertThat(value(RunMetrics.LAST_RUN_SUCCESS, "instance_name", "bb", "operation", "prune")).as("dry run").isEmpty();
    assertThat(value(RunMetrics.BACKUPS, "instance_name", "bb")).contains(2.0);

    s.prune(new Retention.Policy(1, 0, 0, 0), false);
    assertThat(value(RunMetrics.LAST_RUN_SUCCESS, "instance_name", "bb", "operation", "prune")).contains(1.0);
    assertThat(value(RunMetrics.BACKUPS, "instance_name", "bb")).contains(1.0);
    assertThat(value(RunMetrics.BACKUPS, "instance_name", "other")).as("another instance's series").contains(7.0);
    assertThat(Files.readString(prom)).as("a family no longer written is dropped").doesNotContain("snapstash_gone_metric");
  }

  @Test
  void aMetricsFileThatCannotBeWrittenIsAWarningNotAFailedBackup() throws Exception {
    Path blocked = tmp.resolve("not-a-directory");
    Files.writeString(blocked, "a file where the collector's directory should be\n");
    Manifest m = snapstash("true", blocked.resolve("snapstash.prom")).backup(Progress.NONE);
    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    assertThat(blocked).isRegularFile();
  }

  @Test
  void withoutATextfileNothingIsWritten() throws Exception {
    snapstash("true", null).backup(Progress.NONE);
    assertThat(prom.getParent()).doesNotExist();
  }

  @Test
  void aTextfileThatDoesNotEndInPromIsAConfigurationError() {
    assertThatThrownBy(() -> snapstash("true", tmp.resolve("snapstash.txt")))
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining("metrics.textfile")
        .hasMessageContaining("must end in .prom")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.CONFIG);
  }
}
