package dev.snapstash.strategy.quiesce.command;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Quiescer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Quiesces any application with two configured commands: one to stop or freeze it, one to start or thaw it (for
 * example {@code systemctl stop bitbucket} / {@code systemctl start bitbucket}). The unlock command runs whatever
 * happened after the lock command succeeded.
 */
public final class CommandQuiescer implements Quiescer {
  private final List<String> lockCommand;
  private final List<String> unlockCommand;
  private final Duration timeout;
  private final ProcessRunner runner;
  private final LongSupplier nanoTime;

  public CommandQuiescer(
      List<String> lockCommand, List<String> unlockCommand, Duration timeout, ProcessRunner runner, LongSupplier nanoTime) {
    if (lockCommand == null || lockCommand.isEmpty()) {
      throw SnapstashException.config("quiesce.command.lock is required when quiesce.type is command");
    }
    if (unlockCommand == null || unlockCommand.isEmpty()) {
      throw SnapstashException.config("quiesce.command.unlock is required when quiesce.type is command");
    }
    this.lockCommand = List.copyOf(lockCommand);
    this.unlockCommand = List.copyOf(unlockCommand);
    this.timeout = timeout;
    this.runner = runner;
    this.nanoTime = nanoTime;
  }

  @Override
  public String name() {
    return "command";
  }

  @Override
  public java.util.Set<dev.snapstash.core.spi.Capability> capabilities() {
    return java.util.Set.of(dev.snapstash.core.spi.Capability.LOCKS);
  }

  @Override
  public void check(Findings findings) {
    checkProgram(findings, "quiesce.command.lock", lockCommand.get(0));
    checkProgram(findings, "quiesce.command.unlock", unlockCommand.get(0));
  }

  private static void checkProgram(Findings findings, String key, String program) {
    boolean found =
        program.contains("/")
            ? Files.isExecutable(Path.of(program))
            : List.of(System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")).stream()
                .anyMatch(d -> Files.isExecutable(Path.of(d, program)));
    if (found) {
      findings.ok(key, program + " found");
    } else {
      findings.problem(key, program + " is not an executable file or on PATH; fix " + key);
    }
  }

  @Override
  public QuiesceLock quiesce(Progress progress, dev.snapstash.core.spi.UndoLog undo) {
    // Recorded first: a lock command that half-worked before failing must still be undone.
    dev.snapstash.core.spi.Undo release = new RunCommand(unlockCommand);
    undo.add(release);
    try {
      runner.run(Command.of(lockCommand).withTimeout(timeout));
    } catch (RuntimeException e) {
      // An interrupt (Ctrl-C, SIGTERM) that stopped the lock command must not stop the unlock command too: the
      // runner would kill it as it starts and leave the application stopped. The caller still sees the interrupt.
      boolean interrupted = Thread.interrupted();
      try {
        runner.run(Command.of(unlockCommand).withTimeout(timeout));
        undo.done(release);
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      throw e;
    }
    long lockedAt = nanoTime.getAsLong();
    return new QuiesceLock() {
      private boolean closed;
      private long unlockedAt;

      @Override
      public void progress(int percentage) {}

      @Override
      public void succeeded() {}

      @Override
      public Duration heldFor() {
        return Duration.ofNanos((closed ? unlockedAt : nanoTime.getAsLong()) - lockedAt);
      }

      @Override
      public synchronized void close() {
        if (closed) {
          return;
        }
        boolean interrupted = Thread.interrupted();
        try {
          runner.run(Command.of(unlockCommand).withTimeout(timeout));
          unlockedAt = nanoTime.getAsLong();
          closed = true;
          undo.done(release);
        } finally {
          if (interrupted) {
            Thread.currentThread().interrupt();
          }
        }
      }
    };
  }
}
