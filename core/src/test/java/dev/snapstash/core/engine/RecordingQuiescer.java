package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.core.util.Sleeper;
import dev.snapstash.strategy.quiesce.command.RunCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The engine tests' quiescer: records in {@code events} what the engine asks of it, and fails where a test tells it
 * to. Its lock is a file that exists while the instance is "locked", and it journals the release as a real undo
 * step (the command quiescer's {@code run-command}, removing that file) before it locks, so that a journal it
 * leaves behind is recovered as a real one is. It runs the quiescer contract ({@code RecordingQuiescerContractTest}),
 * so it cannot drift from what the real quiescers do.
 */
final class RecordingQuiescer implements Quiescer {
  private final List<String> events;
  private final Supplier<Path> lockFile;
  String problem;
  boolean failUnlock;
  boolean locks = true;
  /** Makes the lock fail after it was taken (it is released first, as every quiescer must). */
  boolean failLock;
  /** How long the lock waits, as for a drain, before it returns. */
  Duration drain = Duration.ZERO;
  Runnable onLock = () -> {};
  Runnable onCheck = () -> {};

  /**
   * @param events where each call is recorded ("check", "lock", "succeeded", "cancel", "unlock")
   * @param lockFile the file that exists while locked; asked for at each lock (a test's temporary directory is
   *     injected after its fields are initialised)
   */
  RecordingQuiescer(List<String> events, Supplier<Path> lockFile) {
    this.events = events;
    this.lockFile = lockFile;
  }

  @Override
  public String name() {
    return "recording";
  }

  @Override
  public void check(Findings findings) {
    events.add("check");
    onCheck.run();
    if (problem != null) {
      findings.problem("instance", problem, ErrorKind.UNREACHABLE);
    } else {
      findings.ok("instance", "recording quiescer ready");
    }
  }

  @Override
  public Set<Capability> capabilities() {
    return locks ? Set.of(Capability.LOCKS) : Set.of();
  }

  @Override
  public QuiesceLock quiesce(Progress progress, UndoLog undo) {
    events.add("lock");
    onLock.run();
    if (!locks) {
      return new Held(null, null, undo, System.nanoTime());
    }
    Path file = lockFile.get();
    Undo release = new RunCommand(List.of("rm", "-f", file.toString()));
    undo.add(release);
    try {
      Files.writeString(file, "locked\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Held held = new Held(file, release, undo, System.nanoTime());
    try {
      if (failLock) {
        throw new SnapstashException(ErrorKind.LOCK, "the instance ended the backup task while draining");
      }
      if (!drain.isZero()) {
        Sleeper.sleepOrThrow(Sleeper.REAL, drain);
      }
      return held;
    } catch (RuntimeException e) {
      try {
        held.close();
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  private final class Held implements QuiesceLock {
    private final Path file;
    private final Undo release;
    private final UndoLog undo;
    private final long at;
    private boolean ok;
    private boolean closed;
    private long closedAt;

    Held(Path file, Undo release, UndoLog undo, long at) {
      this.file = file;
      this.release = release;
      this.undo = undo;
      this.at = at;
    }

    @Override
    public void progress(int percentage) {}

    @Override
    public void succeeded() {
      ok = true;
      events.add("succeeded");
    }

    @Override
    public Duration heldFor() {
      return file == null ? Duration.ZERO : Duration.ofNanos((closed ? closedAt : System.nanoTime()) - at);
    }

    @Override
    public synchronized void close() {
      if (closed) {
        return;
      }
      if (!ok) {
        events.add("cancel");
      }
      events.add("unlock");
      if (failUnlock) {
        throw new SnapstashException(ErrorKind.LOCK, "unlock refused");
      }
      if (file != null) {
        try {
          Files.deleteIfExists(file);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        undo.done(release);
      }
      closedAt = System.nanoTime();
      closed = true;
    }
  }
}
