package dev.snapstash.core.freeze;

import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.UndoLog;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Freezes a filesystem ({@code fsfreeze -f}) for a block-level snapshot, with a watchdog. A frozen mount blocks
 * every writer on it, so a process that dies while holding the freeze would leave production frozen. Before
 * freezing, a watchdog is started outside this JVM's process tree, session and control group ({@link Watchdogs})
 * that thaws the mount after {@code limit} unless stopped first by {@link FrozenMount#close()}. The freeze and the
 * watchdog are both journaled, for {@code recover}.
 */
public final class Freezer {
  private static final Logger log = LoggerFactory.getLogger(Freezer.class);
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);

  private final ProcessRunner runner;
  private final Watchdogs watchdogs;

  /** A freezer with the watchdog this machine supports best (a systemd timer, or a detached process). */
  public Freezer(ProcessRunner runner) {
    this(runner, Watchdogs.detect(runner));
  }

  public Freezer(ProcessRunner runner, Watchdogs watchdogs) {
    this.runner = runner;
    this.watchdogs = watchdogs;
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
    StopWatchdog watchdog;
    try {
      watchdog = watchdogs.start(mount, limit);
    } catch (RuntimeException e) {
      undo.done(thawUndo);
      throw e;
    }
    undo.add(watchdog);
    try {
      runner.run(freeze(mount));
    } catch (RuntimeException e) {
      // A freeze that half-happened must not stay: thaw regardless (harmless when not frozen).
      runner.runAllowingFailure(thaw(mount), l -> {});
      watchdog.stop(runner);
      undo.done(watchdog);
      undo.done(thawUndo);
      throw e;
    }
    log.info("froze {}; its watchdog thaws it after {} ms at the latest", mount, limit.toMillis());
    FaultPoints.hit(FaultPoints.WHILE_FROZEN);
    return new FrozenMount(mount, watchdog, thawUndo, undo);
  }

  /** A frozen mount. {@link #close()} thaws it and stops the watchdog; idempotent. */
  public final class FrozenMount implements AutoCloseable {
    private final Path mount;
    private final StopWatchdog watchdog;
    private final Thaw thawUndo;
    private final UndoLog undo;
    private boolean thawed;

    private FrozenMount(Path mount, StopWatchdog watchdog, Thaw thawUndo, UndoLog undo) {
      this.mount = mount;
      this.watchdog = watchdog;
      this.thawUndo = thawUndo;
      this.undo = undo;
    }

    /** The watchdog as journaled. */
    public StopWatchdog watchdog() {
      return watchdog;
    }

    @Override
    public synchronized void close() {
      if (thawed) {
        return;
      }
      var r = runner.runAllowingFailure(thaw(mount), l -> {});
      if (r.exitCode() != 0 && !r.stderrTail().contains("Invalid argument")) {
        // The watchdog stays: it will thaw the mount at its limit if nobody else does.
        throw new SnapstashException(
            ErrorKind.EXTERNAL_COMMAND, "could not thaw " + mount + " (the watchdog will at its limit): " + r.stderrTail());
      }
      thawed = true;
      undo.done(thawUndo);
      log.info("thawed {}", mount);
      watchdog.stop(runner);
      undo.done(watchdog);
    }
  }
}
