package dev.snapstash.core.freeze;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.testing.LoopFilesystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fsfreeze on a real ext4 loop mount; never leaves it frozen, even when the test fails. */
class FreezerIT {
  @TempDir Path tmp;
  LoopFilesystem fs;
  final ProcessRunner runner = new ProcessRunner();

  @BeforeEach
  void mount() throws Exception {
    fs = LoopFilesystem.create(tmp, "ext4", 16);
  }

  @AfterEach
  void thawAndUnmount() {
    runner.runAllowingFailure(Command.of("fsfreeze", "-u", fs.mountPoint().toString()), l -> {});
    fs.close();
  }

  /** Whether a small write to the mount completes within {@code limit}. */
  private boolean writes(Duration limit) {
    Path f = fs.mountPoint().resolve("probe-" + System.nanoTime());
    var r = runner.runAllowingFailure(Command.of("sh", "-c", "echo x > \"$0\" && sync -f \"$0\"", f.toString()).withTimeout(limit), l -> {});
    return r.exitCode() == 0;
  }

  private boolean writesSafely(Duration limit) {
    try {
      return writes(limit);
    } catch (RuntimeException timedOut) {
      return false;
    }
  }

  @Test
  void freezesThawsAndJournals() {
    List<String> journal = new ArrayList<>();
    UndoLog log =
        new UndoLog() {
          @Override
          public void add(Undo undo) {
            journal.add("add " + undo);
          }

          @Override
          public void done(Undo undo) {
            journal.add("done " + undo);
          }
        };
    Freezer.FrozenMount frozen = new Freezer(runner).freeze(fs.mountPoint(), Duration.ofSeconds(30), log);
    assertThat(writesSafely(Duration.ofSeconds(1))).as("writers block while frozen").isFalse();
    frozen.close();
    assertThat(writes(Duration.ofSeconds(10))).isTrue();
    assertThat(ProcessHandle.of(frozen.watchdogPid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(journal).hasSize(2).allMatch(l -> l.contains("Thaw"));
    frozen.close(); // idempotent
  }

  @Test
  void theRootFilesystemIsRefused() {
    assertThatThrownBy(() -> new Freezer(runner).freeze(Path.of("/"), Duration.ofSeconds(1), UndoLog.NONE))
        .hasMessageContaining("refusing to freeze the root filesystem");
  }

  /**
   * The JVM that froze the mount dies with SIGKILL: the mount stays frozen (nothing else thaws it), until the
   * watchdog thaws it at its limit, counted from before the freeze.
   */
  @Test
  void theWatchdogThawsAfterTheFreezerIsKilled() throws Exception {
    long limitMillis = 10_000;
    Path ready = tmp.resolve("ready");
    Process child =
        new ProcessBuilder(
                "java", "-cp", System.getProperty("java.class.path"), FreezeAndHang.class.getName(),
                fs.mountPoint().toString(), String.valueOf(limitMillis), ready.toString())
            .redirectErrorStream(true)
            .redirectOutput(tmp.resolve("child.log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(ready) && System.nanoTime() < deadline && child.isAlive()) {
      Thread.sleep(50);
    }
    assertThat(ready).as(Files.exists(tmp.resolve("child.log")) ? Files.readString(tmp.resolve("child.log")) : "").exists();
    long freezeStarted = Long.parseLong(Files.readString(ready).strip());
    child.destroyForcibly();
    child.waitFor(30, TimeUnit.SECONDS);
    long killedAt = System.currentTimeMillis();
    assertThat(killedAt - freezeStarted).as("the kill came well within the limit").isLessThan(limitMillis - 2_000);
    assertThat(writesSafely(Duration.ofSeconds(1))).as("still frozen after the freezer died").isFalse();
    while (!writesSafely(Duration.ofSeconds(1))) {
      assertThat(System.currentTimeMillis() - killedAt).as("writable again after the watchdog's limit").isLessThan(limitMillis + 15_000);
    }
    assertThat(System.currentTimeMillis() - freezeStarted).as("thawed at the limit, not before").isGreaterThanOrEqualTo(limitMillis);
  }

  /** Runs in a child JVM: freezes, says so (with the time it started), and hangs until killed. */
  public static final class FreezeAndHang {
    public static void main(String[] args) throws Exception {
      long started = System.currentTimeMillis(); // the watchdog's limit runs from after this
      new Freezer(new ProcessRunner()).freeze(Path.of(args[0]), Duration.ofMillis(Long.parseLong(args[1])), UndoLog.NONE);
      Files.writeString(Path.of(args[2]), started + "\n");
      Thread.sleep(120_000);
    }
  }
}
