package dev.snapstash.core.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessRunnerTest {
  private final ProcessRunner runner = new ProcessRunner();

  @Test
  void capturesStdoutAndPassesEnvironment() {
    ProcessResult r = runner.run(Command.of("sh", "-c", "echo \"$GREETING\"").withEnv("GREETING", "hello").capturingStdout());
    assertThat(r.exitCode()).isZero();
    assertThat(r.stdout()).isEqualTo("hello\n");
  }

  @Test
  void failureNamesTheProgramAndTheLastStderrLineRedacted() {
    Command c =
        Command.of("sh", "-c", "echo first >&2; echo \"password is $PW\" >&2; exit 3").withSecretEnv("PW", "hunter22");
    assertThatThrownBy(() -> runner.run(c))
        .isInstanceOf(CommandFailedException.class)
        .hasMessage("sh failed with exit code 3: password is ******")
        .satisfies(e -> assertThat(((CommandFailedException) e).stderrTail()).contains("first").doesNotContain("hunter22"));
  }

  @Test
  void alsoOkCodesCountAsSuccess() {
    assertThat(runner.run(Command.of("sh", "-c", "exit 24").alsoOkOn(24)).exitCode()).isEqualTo(24);
  }

  @Test
  void aMissingProgramIsAnExternalCommandError() {
    assertThatThrownBy(() -> runner.run(Command.of("no-such-program-snapstash")))
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining("could not start no-such-program-snapstash")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.EXTERNAL_COMMAND);
  }

  @Test
  void timeoutKillsTheWholeTree(@TempDir Path dir) throws Exception {
    Path pids = dir.resolve("pids");
    // A parent that starts a long-lived child, like pg_dump -j starting workers.
    Command c =
        Command.of("sh", "-c", "sleep 60 & echo $! > " + pids + "; wait").withTimeout(Duration.ofMillis(500));
    assertThatThrownBy(() -> runner.run(c)).hasMessageContaining("did not finish within");
    long child = Long.parseLong(Files.readString(pids).strip());
    assertGone(child);
  }

  @Test
  void interruptKillsTheProcessAndSaysInterrupted(@TempDir Path dir) throws Exception {
    Path pids = dir.resolve("pids");
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread t =
        new Thread(
            () -> {
              try {
                runner.run(Command.of("sh", "-c", "echo $$ > " + pids + "; sleep 60"));
              } catch (Throwable e) {
                thrown.set(e);
              }
            });
    t.start();
    while (!Files.exists(pids) || Files.readString(pids).isBlank()) {
      Thread.sleep(10);
    }
    t.interrupt();
    t.join(10_000);
    assertThat(thrown.get()).isInstanceOf(SnapstashException.class);
    assertThat(((SnapstashException) thrown.get()).kind()).isEqualTo(ErrorKind.INTERRUPTED);
    assertGone(Long.parseLong(Files.readString(pids).strip()));
  }

  /** A killed orphan lingers as a zombie until init reaps it: give that a moment. */
  private static void assertGone(long pid) throws InterruptedException {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("process %d alive", pid).isFalse();
  }

  @Test
  void stdoutLinesAreHandedOverRedacted() {
    List<String> lines = new ArrayList<>();
    runner.run(Command.of("sh", "-c", "echo a; echo \"s=$S\"").withSecretEnv("S", "topsecret"), lines::add);
    assertThat(lines).containsExactly("a", "s=******");
  }

  @Test
  void displayNeverShowsSecrets() {
    Command c = Command.of("tool", "--token=abcdef").withSecret("abcdef");
    assertThat(c.display()).isEqualTo("tool --token=******");
  }
}
