package dev.snapstash.core.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Named points in a backup run where a fault-injection test can stop the process deterministically, to kill it
 * there (SIGKILL: no clean-up at all) or signal it (SIGTERM: the ordinary clean-up path). Every point is a
 * {@code FaultPoints.hit(NAME)} call at the place it names; the names live here only, so a test matrix can be
 * driven from {@link #ALL}.
 *
 * <p>Off unless the environment variable {@value #ENV} names a point. Then, the first time that point is hit, the
 * process logs it, writes the point's name to the file named by {@value #MARKER_ENV} (if set) and blocks the
 * calling thread until it is killed. An interrupt (what SIGTERM and Ctrl-C deliver, through the shutdown hook)
 * ends the block with the thread's interrupt flag set, exactly as if the signal had arrived at that line, and the
 * code carries on to its own interrupt handling. Unset, {@link #hit} is a test of a static final field against
 * null, which the JIT removes: no cost and no change in behaviour.
 */
public final class FaultPoints {
  private static final Logger log = LoggerFactory.getLogger(FaultPoints.class);

  /** Names the one point to stop at. */
  public static final String ENV = "SNAPSTASH_FAULT_POINT";

  /** A file the process writes the point's name into when it gets there (atomically), so a test can wait for it. */
  public static final String MARKER_ENV = "SNAPSTASH_FAULT_MARKER";

  /** The instance has granted the lock and it is journaled; the backup task is not started yet. */
  public static final String AFTER_LOCK = "after-lock";

  /** The backup task runs and the instance still reports DRAINING. */
  public static final String DURING_DRAIN = "during-drain";

  /** Under the lock: the database's consistent point is being fixed (PostgreSQL: snapshot exported and held). */
  public static final String DURING_DATABASE_COPY = "during-database-copy";

  /** Under the lock: the home copy is half done (rsync: the delta copied, the repository metadata pass not yet). */
  public static final String DURING_HOME_COPY = "during-home-copy";

  /** A filesystem is frozen (fsfreeze) for a block-level snapshot, which is not taken yet. */
  public static final String WHILE_FROZEN = "while-frozen";

  /** A snapshot of the home exists (btrfs, EBS) and the instance is still locked. */
  public static final String AFTER_SNAPSHOT = "after-snapshot";

  /** Both copies under the lock are done; the instance is still locked. */
  public static final String AFTER_COPY_UNDER_LOCK = "after-copy-under-lock";

  /** The run succeeded under the lock and is about to send the unlock request. */
  public static final String BEFORE_UNLOCK = "before-unlock";

  /** The instance has answered the unlock request; the journal does not record the unlock as done yet. */
  public static final String AFTER_UNLOCK_ANSWERED = "after-unlock-answered";

  /** After the unlock: the database dump from the snapshot pinned under the lock is about to run. */
  public static final String BEFORE_DATABASE_DUMP = "before-database-dump";

  /** The backup is complete and its journal gone; retention has taken an old backup out of the list. */
  public static final String DURING_RETENTION = "during-retention";

  /** Every point, in the order a run reaches them. */
  public static final List<String> ALL =
      List.of(
          AFTER_LOCK, DURING_DRAIN, DURING_DATABASE_COPY, DURING_HOME_COPY, WHILE_FROZEN, AFTER_SNAPSHOT,
          AFTER_COPY_UNDER_LOCK, BEFORE_UNLOCK, AFTER_UNLOCK_ANSWERED, BEFORE_DATABASE_DUMP, DURING_RETENTION);

  /** Long enough for any test to kill us; bounded so a forgotten process does not hold a lock for ever. */
  private static final Duration HOLD_LIMIT = Duration.ofMinutes(10);

  private static final String ACTIVE = System.getenv(ENV);
  private static final AtomicBoolean FIRED = new AtomicBoolean();

  static {
    if (ACTIVE != null && !ALL.contains(ACTIVE)) {
      log.error("{}={} names no fault point; known: {}", ENV, ACTIVE, String.join(", ", ALL));
    }
  }

  private FaultPoints() {}

  /** Stops here if {@value #ENV} names {@code point} and it was not hit before; otherwise returns at once. */
  public static void hit(String point) {
    if (ACTIVE != null && ACTIVE.equals(point) && FIRED.compareAndSet(false, true)) {
      hold(point);
    }
  }

  private static void hold(String point) {
    log.warn("fault point {} reached; holding until this process is killed", point);
    String marker = System.getenv(MARKER_ENV);
    if (marker != null) {
      Path file = Path.of(marker);
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      try {
        Files.writeString(tmp, point + " " + ProcessHandle.current().pid() + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        log.error("cannot write the fault marker {}: {}", file, e.getMessage());
      }
    }
    try {
      Thread.sleep(HOLD_LIMIT.toMillis());
      log.error("fault point {} was held for {} and nobody killed the process; carrying on", point, HOLD_LIMIT);
    } catch (InterruptedException e) {
      // The signal "arrives" here: leave the flag set for the code after the point to honour.
      Thread.currentThread().interrupt();
      log.info("fault point {} interrupted", point);
    }
  }
}
