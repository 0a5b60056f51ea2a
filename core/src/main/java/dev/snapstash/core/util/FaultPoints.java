package dev.snapstash.core.util;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Findings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Named points in a backup run where a fault-injection test can stop the process deterministically, to kill it
 * there (SIGKILL: no clean-up at all) or signal it (SIGTERM: the ordinary clean-up path). Every point is a
 * {@code FaultPoints.hit(NAME)} call at the place it names; the names live here only, so a test matrix can be
 * driven from {@link #ALL}.
 *
 * <p>Off unless armed twice: the environment variable {@value #ENV} names a point <em>and</em> the JVM runs with
 * {@code -D}{@value #PROPERTY}{@code =}{@value #ARMED}, which only the tests that use fault points pass. A stray
 * variable alone (left in a shell, a unit file, a CI job) would otherwise hold production locked at that point;
 * so either one without the other, or a name that is no point, is a preflight problem ({@link #check}) that stops
 * {@code check} and {@code backup} before anything is locked. Armed, the first time that point is hit, the
 * process logs it, writes the point's name to the file named by {@value #MARKER_ENV} (if set) and blocks the
 * calling thread until it is killed. An interrupt (what SIGTERM and Ctrl-C deliver, through the shutdown hook)
 * ends the block with the thread's interrupt flag set, exactly as if the signal had arrived at that line, and the
 * code carries on to its own interrupt handling; a hold nobody ends within its limit fails the run there, so its
 * clean-up runs. Unarmed, {@link #hit} is a test of a static final field against null, which the JIT removes: no
 * cost and no change in behaviour.
 */
public final class FaultPoints {
  private static final Logger log = LoggerFactory.getLogger(FaultPoints.class);

  /** Names the one point to stop at. */
  public static final String ENV = "SNAPSTASH_FAULT_POINT";

  /** The JVM property that must be {@value #ARMED} as well as {@value #ENV} set, or no point stops anything. */
  public static final String PROPERTY = "snapstash.faultInjection";

  /** The one value of {@value #PROPERTY} that arms the points. */
  public static final String ARMED = "armed";

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

  private static final String VARIABLE = System.getenv(ENV);
  private static final String SWITCH = System.getProperty(PROPERTY);
  /** The point to stop at, or null: only when both are set and the name is a point. */
  private static final String ACTIVE = problem(VARIABLE, SWITCH).isEmpty() ? VARIABLE : null;
  private static final AtomicBoolean FIRED = new AtomicBoolean();

  private FaultPoints() {}

  /**
   * Why the fault points, as this process was started, are set up wrongly, or empty: both unset (production), or
   * both set with a known point (a fault-injection test). Either one alone, or an unknown point, is a problem.
   */
  public static Optional<String> problem(String variable, String property) {
    boolean named = variable != null && !variable.isBlank();
    boolean armed = ARMED.equals(property);
    if (!named && property == null) {
      return Optional.empty();
    }
    if (!named) {
      return Optional.of("the JVM property " + PROPERTY + " is set, but " + ENV + " names no fault point: remove -D"
          + PROPERTY + " (from SNAPSTASH_JAVA_OPTS or the java command line); it is for snapstash's own tests");
    }
    if (!armed) {
      return Optional.of("the environment variable " + ENV + " is set (to " + variable + "), which only snapstash's"
          + " fault-injection tests use; unset " + ENV + (property == null ? "" : " and -D" + PROPERTY)
          + " before running snapstash");
    }
    if (!ALL.contains(variable)) {
      return Optional.of(ENV + "=" + variable + " names no fault point; known: " + String.join(", ", ALL));
    }
    return Optional.empty();
  }

  /** Adds the preflight's verdict on this process's fault points: a problem, or a warning that they are armed. */
  public static void check(Findings findings) {
    Optional<String> p = problem(VARIABLE, SWITCH);
    if (p.isPresent()) {
      findings.problem(ENV, p.get());
    } else if (ACTIVE != null) {
      findings.warning(ENV, "fault injection is armed: this run stops at " + ACTIVE + " until it is killed");
    }
  }

  /** Stops here if armed for {@code point} and it was not hit before; otherwise returns at once. */
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
    } catch (InterruptedException e) {
      // The signal "arrives" here: leave the flag set for the code after the point to honour.
      Thread.currentThread().interrupt();
      log.info("fault point {} interrupted", point);
      return;
    }
    // Nobody killed us: the test that armed the point is gone. Fail here, so that the run's clean-up unlocks,
    // rather than carry on as if the run had not been held for ten minutes.
    throw new SnapstashException(
        ErrorKind.PRECONDITION,
        "fault point " + point + " was held for " + HOLD_LIMIT.toMinutes() + " minutes and nobody killed the process; "
            + "unset " + ENV + " and -D" + PROPERTY + " outside snapstash's tests");
  }
}
