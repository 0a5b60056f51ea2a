package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.cli.ExitCodes;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.util.Json;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.sandbox.DbKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line as an operator meets it: help, errors and their exit codes, list, prune, and signals. */
class CommandLineIT {
  @TempDir Path tmp;

  @Test
  void helpAndVersion() {
    Scenario.Run help = snapstash("--help");
    assertThat(help.exit()).isZero();
    assertThat(help.out()).contains("backup", "restore", "list", "prune", "check", "sandbox", "Exit codes:");
    assertThat(snapstash("--version").out()).startsWith("snapstash ");
  }

  @Test
  void usageErrorsExitWith2() {
    Scenario.Run r = snapstash("backup", "--no-such-option");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("Unknown option");
  }

  @Test
  void configurationErrorsExitWith3AndNameFileLineAndKey() throws Exception {
    Scenario.Run missing = snapstash("-c", tmp.resolve("nope.yml").toString(), "list");
    assertThat(missing.exit()).isEqualTo(3);
    assertThat(missing.err()).contains("not found").doesNotContain("Exception");
    Path bad = tmp.resolve("bad.yml");
    Files.writeString(bad, "instance:\n  name: bb\n  home: /tmp\nbackup:\n  root: /tmp/b\ndisk:\n  tpye: rsync\n");
    Scenario.Run r = snapstash("-c", bad.toString(), "list");
    assertThat(r.exit()).isEqualTo(3);
    assertThat(r.err()).contains("bad.yml:7").contains("disk.tpye").contains("disk.type");
  }

  @Test
  void checkListsEveryProblemAndExitsWithTheFirstKind() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      Path wrong = tmp.resolve("wrong");
      Files.writeString(wrong, "wrong");
      String yml = Files.readString(s.config()).replace(s.dir.resolve("admin-password").toString(), wrong.toString());
      Path config = tmp.resolve("check.yml");
      Files.writeString(config, yml.replace("  type: rsync\n", "  type: rsync\n  rsync:\n    excludes: []\n"));
      Scenario.Run ok = snapstash("-c", s.config().toString(), "check");
      assertThat(ok.exit()).as(ok.err()).isZero();
      assertThat(ok.out()).contains("ok    rsync").contains("credentials accepted");
      Scenario.Run r = snapstash("-c", config.toString(), "check");
      assertThat(r.exit()).isEqualTo(ExitCodes.of(ErrorKind.AUTHENTICATION));
      assertThat(r.out()).contains("FAIL").contains("HTTP 401").contains("ok    rsync");
      assertThat(r.out() + r.err()).doesNotContain(s.sandbox.adminPassword());
    }
  }

  @Test
  void listAndPrune() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      for (int i = 0; i < 3; i++) {
        assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
      }
      Scenario.Run list = snapstash("-c", s.config().toString(), "list");
      assertThat(list.out().lines().filter(l -> l.startsWith("sandbox-")).count()).isEqualTo(3);
      assertThat(snapstash("-c", s.config().toString(), "prune").exit()).as("no rule").isEqualTo(2);
      Scenario.Run dry = snapstash("-c", s.config().toString(), "prune", "--keep-last", "1", "--dry-run");
      assertThat(dry.out()).contains("would remove").hasLineCount(3);
      assertThat(s.backupDirs()).hasSize(3);
      Scenario.Run prune = snapstash("-c", s.config().toString(), "--json", "prune", "--keep-last", "1");
      assertThat(prune.exit()).isZero();
      assertThat(prune.json().path("removed").size()).isEqualTo(2);
      assertThat(s.backupDirs()).hasSize(1);
      // The survivor, hard-linked to the removed ones, is intact.
      Scenario.Run restore =
          snapstash("-c", s.config().toString(), "restore", "latest", "--home-target", tmp.resolve("r").toString());
      assertThat(restore.exit()).as(restore.err()).isZero();
    }
  }

  /**
   * Ctrl-C and SIGTERM take the same path as any failure: cancel, unlock, remove the partial backup; all of it done
   * before the process ends, which it does with the documented 130 (not the JVM's 128 + signal number, 143 for
   * SIGTERM).
   */
  @ParameterizedTest(name = "SIG{0}")
  @ValueSource(strings = {"TERM", "INT"})
  void aSignalUnderTheLockUnlocksRemovesThePartialBackupAndExits130(String signal) throws Exception {
    Path jar = Path.of("target/snapstash.jar");
    assertThat(jar).as("the shaded jar (built by package)").exists();
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      s.sandbox.knobs().minDrain(Duration.ofSeconds(30));
      Path jvm = Path.of(System.getProperty("java.home"), "bin", "java");
      // A test JVM started in the background inherits SIGINT ignored, and so would this one: give it back the
      // default disposition, as a terminal's foreground job has, so that the JVM installs its handler.
      Process p =
          new ProcessBuilder(
                  "env", "--default-signal=INT", jvm.toString(), "-jar", jar.toString(), "-c", s.config().toString(), "backup")
              .redirectErrorStream(true)
              .redirectOutput(tmp.resolve("out.txt").toFile())
              .start();
      await().atMost(Duration.ofSeconds(30)).until(() -> s.sandbox.maintenance().isLocked());
      new ProcessBuilder("kill", "-" + signal, String.valueOf(p.pid())).inheritIO().start().waitFor();
      assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      String out = Files.readString(tmp.resolve("out.txt"));
      assertThat(p.exitValue()).as("exit code after SIG%s:%n%s", signal, out).isEqualTo(130);
      // All of this was done by the process before it ended: nothing here waits for it.
      assertThat(s.sandbox.maintenance().isLocked()).as("unlocked after SIG%s", signal).isFalse();
      assertThat(s.sandbox.maintenance().task().orElseThrow().state()).isEqualTo("CANCELED");
      assertThat(s.backupDirs()).isEmpty();
      assertThat(Journal.file(s.backups())).as("nothing left to recover").doesNotExist();
      assertThat(out).contains("interrupted");
    }
  }

  /** The shipped jar, not Main in-process: with --json stdout holds the JSON alone, stderr the sentence. */
  @Test
  void theJarPrintsJsonOnStdoutAndTheSentenceOnStderr() throws Exception {
    Path jar = Path.of("target/snapstash.jar");
    assertThat(jar).as("the shaded jar (built by package)").exists();
    Path config = tmp.resolve("snapstash.yml");
    Files.writeString(
        config, "instance:\n  name: bb\n  home: " + tmp.resolve("home") + "\nbackup:\n  root: " + tmp.resolve("b") + "\n");

    Process recover =
        new ProcessBuilder("java", "-jar", jar.toString(), "--json", "-c", config.toString(), "recover")
            .redirectOutput(tmp.resolve("recover.out").toFile())
            .redirectError(tmp.resolve("recover.err").toFile())
            .start();
    assertThat(recover.waitFor()).as(Files.readString(tmp.resolve("recover.err"))).isZero();
    JsonNode recovered = Json.MAPPER.readTree(tmp.resolve("recover.out").toFile());
    assertThat(recovered.path("undone").isArray()).isTrue();

    Process list =
        new ProcessBuilder("java", "-jar", jar.toString(), "--json", "-c", tmp.resolve("missing.yml").toString(), "list")
            .redirectOutput(tmp.resolve("list.out").toFile())
            .redirectError(tmp.resolve("list.err").toFile())
            .start();
    assertThat(list.waitFor()).isEqualTo(3);
    JsonNode error = Json.MAPPER.readTree(tmp.resolve("list.out").toFile()).path("error");
    assertThat(error.path("kind").asText()).isEqualTo("CONFIG");
    assertThat(error.path("exitCode").asInt()).isEqualTo(3);
    assertThat(Files.readString(tmp.resolve("list.err"))).contains("snapstash: " + error.path("message").asText());
  }

  @Test
  void theReadmeDocumentsExactlyTheExitCodes() throws Exception {
    String readme = Files.readString(Path.of("..", "README.md"));
    Matcher m = Pattern.compile("(?m)^\\| (\\d+) \\|").matcher(readme);
    List<Integer> documented = new ArrayList<>();
    while (m.find()) {
      documented.add(Integer.parseInt(m.group(1)));
    }
    List<Integer> actual = new ArrayList<>(List.of(0));
    for (ErrorKind k : ErrorKind.values()) {
      actual.add(ExitCodes.of(k));
    }
    assertThat(documented).containsExactlyInAnyOrderElementsOf(actual);
  }
}
