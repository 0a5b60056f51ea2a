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

  /** The JVM that froze the mount dies with SIGKILL: the watchdog thaws it within its limit. */
  @Test
  void theWatchdogThawsAfterTheFreezerIsKilled() throws Exception {
    Path ready = tmp.resolve("ready");
    Process child =
        new ProcessBuilder(
                "java", "-cp", System.getProperty("java.class.path"), FreezeAndHang.class.getName(),
                fs.mountPoint().toString(), "3000", ready.toString())
            .redirectErrorStream(true)
            .redirectOutput(tmp.resolve("child.log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(ready) && System.nanoTime() < deadline && child.isAlive()) {
      Thread.sleep(50);
    }
    assertThat(ready).as(Files.exists(tmp.resolve("child.log")) ? Files.readString(tmp.resolve("child.log")) : "").exists();
    child.destroyForcibly();
    child.waitFor(30, TimeUnit.SECONDS);
    long killedAt = System.nanoTime();
    assertThat(writesSafely(Duration.ofSeconds(15))).as("writable again after the watchdog's limit").isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).isLessThan(Duration.ofSeconds(15));
  }

  /** Runs in a child JVM: freezes, says so, and hangs until killed. */
  public static final class FreezeAndHang {
    public static void main(String[] args) throws Exception {
      new Freezer(new ProcessRunner()).freeze(Path.of(args[0]), Duration.ofMillis(Long.parseLong(args[1])), UndoLog.NONE);
      Files.writeString(Path.of(args[2]), "frozen");
      Thread.sleep(120_000);
    }
  }
}
