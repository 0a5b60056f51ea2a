package dev.snapstash.strategy.quiesce.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command quiescer with real scripts run by a real {@link ProcessRunner}: the lock script marks the application
 * stopped, the unlock script starts it again, both note each call; files beside them make them fail or hang.
 */
class CommandQuiescerTest {
  @TempDir Path tmp;
  Path app;
  Path lock;
  Path unlock;
  final List<Command> ran = new CopyOnWriteArrayList<>();
  final ProcessRunner runner = new ProcessRunner() {
    @Override
    public ProcessResult run(Command command) {
      ran.add(command);
      return super.run(command);
    }
  };

  @BeforeEach
  void scripts() throws Exception {
    app = Files.createDirectories(tmp.resolve("app"));
    lock = script("lock.sh",
        "echo lock >> '" + app + "/calls'",
        "touch '" + app + "/stopped'",
        "if [ -e '" + app + "/lock-fails' ]; then echo 'systemctl: unit bitbucket.service is masked' >&2; exit 3; fi",
        "if [ -e '" + app + "/lock-hangs' ]; then sleep 60; fi");
    unlock = script("unlock.sh",
        "echo unlock >> '" + app + "/calls'",
        "if [ -e '" + app + "/unlock-fails' ]; then echo 'systemctl: start job failed' >&2; exit 1; fi",
        "rm -f '" + app + "/stopped'");
  }

  private Path script(String name, String... lines) throws Exception {
    Path p = app.resolve(name);
    Files.writeString(p, "#!/bin/sh\nset -e\n" + String.join("\n", lines) + "\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
    return p;
  }

  private CommandQuiescer quiescer(Duration timeout) {
    return new CommandQuiescer(List.of(lock.toString()), List.of(unlock.toString()), timeout, runner, System::nanoTime);
  }

  private List<String> calls() throws Exception {
    Path calls = app.resolve("calls");
    return Files.exists(calls) ? Files.readAllLines(calls) : List.of();
  }

  private boolean stopped() {
    return Files.exists(app.resolve("stopped"));
  }

  /** The journal calls in order, each with whether the application was stopped at that moment. */
  final class Log implements UndoLog {
    final List<String> events = new ArrayList<>();
    final List<Undo> open = new ArrayList<>();

    @Override
    public void add(Undo undo) {
      events.add("add " + undo.describe() + (stopped() ? " (stopped)" : " (running)"));
      open.add(undo);
    }

    @Override
    public void done(Undo undo) {
      events.add("done " + undo.describe() + (stopped() ? " (stopped)" : " (running)"));
      open.remove(undo);
    }
  }

  @Test
  void runsTheLockAndUnlockCommandsThroughTheRunnerWithTheConfiguredTimeout() throws Exception {
    Log log = new Log();
    try (QuiesceLock l = quiescer(Duration.ofSeconds(30)).quiesce(Progress.NONE, log)) {
      assertThat(stopped()).isTrue();
      l.succeeded();
    }
    assertThat(stopped()).isFalse();
    assertThat(calls()).containsExactly("lock", "unlock");
    assertThat(ran).extracting(Command::argv).containsExactly(List.of(lock.toString()), List.of(unlock.toString()));
    assertThat(ran).extracting(Command::timeout).containsOnly(Duration.ofSeconds(30));
  }

  /** Recorded before the lock command runs: a lock command that half-worked before it died must still be undone. */
  @Test
  void theUnlockCommandIsJournaledBeforeTheLockCommandRunsAndMarkedDoneAfterItRan() {
    Log log = new Log();
    quiescer(Duration.ofSeconds(30)).quiesce(Progress.NONE, log).close();
    assertThat(log.events).containsExactly("add run " + unlock + " (running)", "done run " + unlock + " (running)");
    assertThat(log.open).isEmpty();
  }

  @Test
  void theUndoStepIsTheUnlockCommandUnderItsJournalName() throws Exception {
    Path root = tmp.resolve("root");
    try (Journal j = Journal.begin(root, "backup", "bb-20261207-000000")) {
      quiescer(Duration.ofSeconds(30)).quiesce(Progress.NONE, j);
    }
    assertThat(Journal.pending(Journal.read(root))).containsExactly(new RunCommand(List.of(unlock.toString())));
    assertThat(Files.readString(Journal.file(root)))
        .as("the journal's format, which recover of a later version still reads")
        .contains("{\"undo\":\"run-command\",\"argv\":[\"" + unlock + "\"]}");
    RunCommand step = new RunCommand(List.of(unlock.toString()));
    assertThat(step.order()).isEqualTo(Undo.RELEASE);
    assertThat(step.describe()).isEqualTo("run " + unlock);
  }

  /** What recover does: the journaled step runs the unlock command; run again, it runs it again, harmlessly. */
  @Test
  void replayingTheUndoStepRunsTheUnlockCommandAndAFailureKeepsItForTheNextRecover() throws Exception {
    quiescer(Duration.ofSeconds(30)).quiesce(Progress.NONE, UndoLog.NONE); // the process dies holding it
    var config = ConfigLoader.parse(
        "instance: {name: bb, home: " + tmp.resolve("home") + "}\nbackup: {root: " + tmp.resolve("b") + "}\n",
        "t.yml", Map.of());
    Services services = Services.of(config.instance(), config.backup(), new ProcessRunner());
    RunCommand step = new RunCommand(List.of(unlock.toString()));

    Files.createFile(app.resolve("unlock-fails"));
    assertThatThrownBy(() -> step.undo(services))
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining("exit code 1")
        .hasMessageContaining("start job failed");
    assertThat(stopped()).isTrue();

    Files.delete(app.resolve("unlock-fails"));
    step.undo(services);
    assertThat(stopped()).isFalse();
    step.undo(services);
    assertThat(stopped()).isFalse();
  }

  @Test
  void aFailingLockCommandIsReleasedAndSaysWhy() throws Exception {
    Files.createFile(app.resolve("lock-fails"));
    Log log = new Log();
    assertThatThrownBy(() -> quiescer(Duration.ofSeconds(30)).quiesce(Progress.NONE, log))
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining("exit code 3")
        .hasMessageContaining("unit bitbucket.service is masked")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.EXTERNAL_COMMAND);
    assertThat(calls()).containsExactly("lock", "unlock");
    assertThat(stopped()).as("the half-done lock was undone").isFalse();
    assertThat(log.open).isEmpty();
  }

  @Test
  void aLockCommandThatOutlastsItsTimeoutIsStoppedAndReleased() throws Exception {
    Files.createFile(app.resolve("lock-hangs"));
    Log log = new Log();
    long t = System.nanoTime();
    assertThatThrownBy(() -> quiescer(Duration.ofSeconds(1)).quiesce(Progress.NONE, log))
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining("did not finish within 1s");
    assertThat(Duration.ofNanos(System.nanoTime() - t)).as("the 60 s sleep was not waited for").isLessThan(Duration.ofSeconds(20));
    assertThat(calls()).containsExactly("lock", "unlock");
    assertThat(stopped()).isFalse();
    assertThat(log.open).isEmpty();
  }

  /**
   * The release fails: close says so, the journal keeps the step for recover, and a later close (the engine's
   * failure path tries again) runs it again.
   */
  @Test
  void aFailingUnlockCommandKeepsItsUndoStepAndIsTriedAgainByTheNextClose() throws Exception {
    Log log = new Log();
    QuiesceLock l = quiescer(Duration.ofSeconds(30)).quiesce(Progress.NONE, log);
    Files.createFile(app.resolve("unlock-fails"));
    assertThatThrownBy(l::close)
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining("exit code 1")
        .hasMessageContaining("start job failed");
    assertThat(stopped()).isTrue();
    assertThat(log.open).containsExactly(new RunCommand(List.of(unlock.toString())));

    Files.delete(app.resolve("unlock-fails"));
    l.close();
    assertThat(stopped()).isFalse();
    assertThat(log.open).isEmpty();
    assertThat(calls()).containsExactly("lock", "unlock", "unlock");
  }

  /** Ctrl-C or SIGTERM during the copy: the application is started again all the same, and the interrupt kept. */
  @Test
  void anInterruptedCloseStillRunsTheUnlockCommandAndKeepsTheInterrupt() throws Exception {
    QuiesceLock l = quiescer(Duration.ofSeconds(30)).quiesce(Progress.NONE, UndoLog.NONE);
    Thread.currentThread().interrupt();
    try {
      l.close();
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted();
    }
    assertThat(stopped()).isFalse();
  }

  @Test
  void heldForRunsFromTheEndOfTheLockCommandToTheEndOfTheUnlockCommand() {
    AtomicLong now = new AtomicLong(1_000);
    CommandQuiescer q = new CommandQuiescer(List.of(lock.toString()), List.of(unlock.toString()), Duration.ofSeconds(30),
        new ProcessRunner() {
          @Override
          public ProcessResult run(Command command) {
            ProcessResult r = super.run(command);
            now.addAndGet(1_000_000); // each command takes a millisecond by this clock
            return r;
          }
        }, now::get);
    QuiesceLock l = q.quiesce(Progress.NONE, UndoLog.NONE);
    now.addAndGet(5_000_000);
    assertThat(l.heldFor()).isEqualTo(Duration.ofMillis(5));
    l.close();
    now.addAndGet(7_000_000);
    assertThat(l.heldFor()).isEqualTo(Duration.ofMillis(6));
  }

  @Test
  void checkFindsBothProgramsAndRunsNeither() throws Exception {
    Findings f = new Findings();
    quiescer(Duration.ofSeconds(30)).check(f);
    assertThat(f.problems()).isEmpty();
    assertThat(f.all()).extracting(Findings.Finding::subject).containsExactly("quiesce.command.lock", "quiesce.command.unlock");
    assertThat(calls()).isEmpty();
    assertThat(ran).isEmpty();
  }

  @Test
  void checkNamesTheKeyOfAProgramThatIsNotThere() {
    Findings f = new Findings();
    new CommandQuiescer(List.of(lock.toString()), List.of("no-such-program-snapstash", "start"), Duration.ofSeconds(1),
        runner, System::nanoTime).check(f);
    assertThat(f.problems()).singleElement().satisfies(p -> {
      assertThat(p.subject()).isEqualTo("quiesce.command.unlock");
      assertThat(p.message()).contains("no-such-program-snapstash").contains("fix quiesce.command.unlock");
    });
  }

  @Test
  void aMissingCommandIsAConfigurationErrorNamingItsKey() {
    var config = ConfigLoader.parse(
        "instance: {name: bb, home: " + tmp.resolve("home") + "}\nbackup: {root: " + tmp.resolve("b") + "}\n"
            + "quiesce: {type: command, command: {lock: ['" + lock + "']}}\n",
        "t.yml", Map.of());
    Services services = Services.of(config.instance(), config.backup(), runner);
    assertThatThrownBy(() -> new CommandProvider().create(config.quiesce().settings(CommandSettings.class), services))
        .isInstanceOf(SnapstashException.class)
        .hasMessage("quiesce.command.unlock is required when quiesce.type is command")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.CONFIG);
    assertThatThrownBy(() -> new CommandQuiescer(List.of(), List.of(unlock.toString()), Duration.ofSeconds(1), runner, System::nanoTime))
        .hasMessage("quiesce.command.lock is required when quiesce.type is command");
  }
}
