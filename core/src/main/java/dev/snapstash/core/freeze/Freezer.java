package dev.snapstash.core.freeze;

import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Freezes a filesystem ({@code fsfreeze -f}) for a block-level snapshot, with a watchdog. A frozen mount blocks
 * every writer on it, so a process that dies while holding the freeze would leave production frozen. Before
 * freezing, an independent watchdog process is started (its own session, surviving this JVM) that thaws the mount
 * after {@code limit} unless it is killed first by {@link FrozenMount#close()}. The freeze is also journaled, for
 * {@code recover}.
 */
public final class Freezer {
  private static final Logger log = LoggerFactory.getLogger(Freezer.class);
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);

  private final ProcessRunner runner;

  public Freezer(ProcessRunner runner) {
    this.runner = runner;
  }

  /** The watchdog: sleep, then thaw. The mount point is an argument ($0), never part of the script text. */
  static Command watchdog(Path mountPoint, Duration limit) {
    String seconds = String.format(Locale.ROOT, "%.3f", limit.toMillis() / 1000.0);
    return Command.of("sh", "-c", "sleep " + seconds + "; exec fsfreeze -u \"$0\"", mountPoint.toString());
  }

  static Command freeze(Path mountPoint) {
    return Command.of("fsfreeze", "-f", mountPoint.toString()).withTimeout(COMMAND_TIMEOUT);
  }

  static Command thaw(Path mountPoint) {
    return Command.of("fsfreeze", "-u", mountPoint.toString()).withTimeout(COMMAND_TIMEOUT);
  }

  /** Freezes {@code mountPoint}; the returned handle thaws it. */
  public FrozenMount freeze(Path mountPoint, Duration limit, UndoLog undo) {
    Path mount = mountPoint.toAbsolutePath().normalize();
    if (mount.getParent() == null) {
      throw SnapstashException.config(
          "refusing to freeze the root filesystem: it would freeze snapstash itself; put the home on its own volume");
    }
    Thaw thawUndo = new Thaw(mount);
    undo.add(thawUndo);
    long watchdogPid = runner.spawnDetached(watchdog(mount, limit), Path.of("/dev/null"));
    try {
      runner.run(freeze(mount));
    } catch (RuntimeException e) {
      kill(watchdogPid);
      // A freeze that half-happened must not stay: thaw regardless (harmless when not frozen).
      runner.runAllowingFailure(thaw(mount), l -> {});
      undo.done(thawUndo);
      throw e;
    }
    log.info("froze {} (watchdog pid {} thaws it after {} s at the latest)", mount, watchdogPid, limit.toSeconds());
    FaultPoints.hit(FaultPoints.WHILE_FROZEN);
    return new FrozenMount(mount, watchdogPid, thawUndo, undo);
  }

  /** A frozen mount. {@link #close()} thaws it and stops the watchdog; idempotent. */
  public final class FrozenMount implements AutoCloseable {
    private final Path mount;
    private final long watchdogPid;
    private final Thaw thawUndo;
    private final UndoLog undo;
    private boolean thawed;

    private FrozenMount(Path mount, long watchdogPid, Thaw thawUndo, UndoLog undo) {
      this.mount = mount;
      this.watchdogPid = watchdogPid;
      this.thawUndo = thawUndo;
      this.undo = undo;
    }

    public long watchdogPid() {
      return watchdogPid;
    }

    @Override
    public synchronized void close() {
      if (thawed) {
        return;
      }
      var r = runner.runAllowingFailure(thaw(mount), l -> {});
      if (r.exitCode() != 0 && !r.stderrTail().contains("Invalid argument")) {
        // The watchdog stays alive: it will thaw the mount at its limit if nobody else does.
        throw new SnapstashException(
            ErrorKind.EXTERNAL_COMMAND, "could not thaw " + mount + " (the watchdog will at its limit): " + r.stderrTail());
      }
      thawed = true;
      kill(watchdogPid);
      undo.done(thawUndo);
      log.info("thawed {}", mount);
    }
  }

  private static void kill(long pid) {
    ProcessHandle.of(pid)
        .ifPresent(
            h -> {
              h.descendants().forEach(ProcessHandle::destroyForcibly);
              h.destroyForcibly();
            });
  }
}
