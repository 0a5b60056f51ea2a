package dev.snapstash.sandbox.maintenance;

import dev.snapstash.sandbox.SandboxKnobs;
import dev.snapstash.sandbox.Secrets;
import dev.snapstash.sandbox.db.SandboxDatabase;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The maintenance lock, the external backup task and the drain, as {@code bitbucket-protocol.md} describes them.
 *
 * <p>Every ordinary request takes a {@link Ticket} before it does anything and gives it back when its response is
 * complete; a request that finds the instance locked gets none and is answered 503. Because taking a ticket and
 * locking share one monitor, a request either was in flight at lock time (and is waited for) or is refused: there
 * is no third case. Database transactions are counted through {@link SandboxDatabase.TxTracker}.
 *
 * <p>Thread-safe.
 */
public final class Maintenance implements SandboxDatabase.TxTracker {
  public enum Kind {
    /** A Git smart-HTTP request; counts toward scm-state. */
    GIT,
    /** Any other request that may open a transaction; counts toward db-state. */
    OTHER
  }

  /** One request in flight; close exactly once. */
  public final class Ticket implements AutoCloseable {
    private final Kind kind;
    private boolean closed;

    private Ticket(Kind kind) {
      this.kind = kind;
    }

    @Override
    public void close() {
      synchronized (Maintenance.this) {
        if (!closed) {
          closed = true;
          if (kind == Kind.GIT) {
            git--;
          } else {
            other--;
          }
          Maintenance.this.notifyAll();
        }
      }
    }
  }

  /** The lock holder as Bitbucket shows it. */
  public record Owner(String name, String displayName) {}

  /** What {@code POST /mvc/maintenance/lock} answers. */
  public record LockGrant(String unlockToken, Owner owner) {}

  /** A snapshot of the backup task. */
  public record Task(
      String id, String cancelToken, String state, int percentage, String message, List<Integer> reported) {}

  /** A snapshot for {@code GET /mvc/maintenance}. */
  public record Status(Task task, String dbState, String scmState) {}

  private final Clock clock;
  private final SandboxKnobs knobs;
  private int git;
  private int other;
  private int tx;
  private LockGrant lock;
  private MutableTask task;
  private Task lastTask;

  private static final class MutableTask {
    final String id = Secrets.hex(8);
    final String cancelToken = Secrets.hex(20);
    final Instant started;
    String state = "RUNNING";
    int percentage;
    String message = "Waiting for in-flight operations to finish";
    final List<Integer> reported = new ArrayList<>();

    MutableTask(Instant started) {
      this.started = started;
    }

    Task snapshot() {
      return new Task(id, cancelToken, state, percentage, message, List.copyOf(reported));
    }
  }

  /**
   * Where each lock and unlock is noted, with the instant the instance took it, as the instance's own log would:
   * so a measurement of downtime (bench/lock-window) reads the same clock for every client, and no client's own
   * report of its lock window is trusted.
   */
  public interface Journal {
    void note(Instant at, String event);

    Journal NONE = (at, event) -> {};
  }

  private final Journal journal;

  public Maintenance(Clock clock, SandboxKnobs knobs) {
    this(clock, knobs, Journal.NONE);
  }

  public Maintenance(Clock clock, SandboxKnobs knobs, Journal journal) {
    this.clock = Objects.requireNonNull(clock);
    this.knobs = Objects.requireNonNull(knobs);
    this.journal = Objects.requireNonNull(journal);
  }

  /** A ticket for an ordinary request, or empty while locked (the caller answers 503). */
  public synchronized Optional<Ticket> tryBegin(Kind kind) {
    if (lock != null) {
      return Optional.empty();
    }
    if (kind == Kind.GIT) {
      git++;
    } else {
      other++;
    }
    return Optional.of(new Ticket(kind));
  }

  @Override
  public synchronized void begin() {
    tx++;
  }

  @Override
  public synchronized void end() {
    tx--;
    notifyAll();
  }

  public synchronized boolean isLocked() {
    return lock != null;
  }

  public synchronized LockGrant lock(Owner owner) {
    if (lock != null) {
      throw new MaintenanceException(
          knobs.secondLockStatus(), "The system is already locked for maintenance by " + lock.owner().name() + ".",
          "com.atlassian.bitbucket.maintenance.MaintenanceLockedException");
    }
    lock = new LockGrant(Secrets.hex(20), owner);
    journal.note(clock.instant(), "LOCKED by " + owner.name());
    return lock;
  }

  public synchronized void unlock(String token) {
    checkUnlockToken(token);
    if (task != null) {
      if ("RUNNING".equals(task.state)) {
        task.state = "SUCCESSFUL";
      }
      lastTask = task.snapshot();
    }
    task = null;
    lock = null;
    journal.note(clock.instant(), "UNLOCKED");
  }

  public synchronized Task startBackup(String token) {
    checkUnlockToken(token);
    if (task != null && "RUNNING".equals(task.state)) {
      throw new MaintenanceException(
          409, "A backup is already running.", "com.atlassian.bitbucket.backup.BackupAlreadyRunningException");
    }
    task = new MutableTask(clock.instant());
    return task.snapshot();
  }

  /**
   * The maintenance state. Without a lock there is none to show: "no such lock" (404 by default: Bitbucket's
   * maintenance page takes a 404 from this call as "no maintenance"). Without a token header (anyone looking, as
   * that page does for every user) the answer carries the drain states but no task and nothing token-bound. With
   * a token header, the token must be the holder's.
   */
  public synchronized Status status(String token) {
    if (lock == null) {
      throw MaintenanceException.notLocked(knobs.noSuchLockStatus());
    }
    if (token == null) {
      Status held = heldStatus();
      return new Status(null, held.dbState(), held.scmState());
    }
    checkUnlockToken(token);
    return heldStatus();
  }

  private Status heldStatus() {
    if (task == null) {
      return new Status(null, "AVAILABLE", "AVAILABLE");
    }
    String outcome = knobs.taskOutcome();
    if (outcome != null && "RUNNING".equals(task.state)) {
      task.state = outcome;
      task.message = "The backup was ended by the instance (" + outcome + ")";
    }
    boolean waited = !clock.instant().isBefore(task.started.plus(knobs.minDrain()));
    boolean scmDrained = waited && git == 0;
    boolean dbDrained = waited && git == 0 && other == 0 && tx == 0;
    if (scmDrained && dbDrained && "RUNNING".equals(task.state) && task.reported.isEmpty()) {
      task.message = "Drained: the external backup may copy now";
    }
    return new Status(task.snapshot(), dbDrained ? "DRAINED" : "DRAINING", scmDrained ? "DRAINED" : "DRAINING");
  }

  public synchronized void progress(String token, String percentage) {
    checkUnlockToken(token);
    int p;
    try {
      p = Integer.parseInt(percentage == null ? "" : percentage.strip());
    } catch (NumberFormatException e) {
      p = -1;
    }
    if (p < 0 || p > 100) {
      throw new MaintenanceException(
          400, "percentage must be a whole number from 0 to 100.", "java.lang.IllegalArgumentException");
    }
    if (task == null || !"RUNNING".equals(task.state)) {
      throw new MaintenanceException(
          409, "No backup is running.", "com.atlassian.bitbucket.backup.NoSuchBackupException");
    }
    task.percentage = p;
    task.reported.add(p);
    task.message = "Backing up (client reported " + p + "%)";
  }

  public synchronized void cancel(String cancelToken) {
    if (task == null) {
      throw new MaintenanceException(
          knobs.noSuchLockStatus(), "No backup is running.", "com.atlassian.bitbucket.backup.NoSuchBackupException");
    }
    if (cancelToken == null || !cancelToken.equals(task.cancelToken)) {
      throw MaintenanceException.badToken("cancel", knobs.wrongTokenStatus());
    }
    if ("RUNNING".equals(task.state)) {
      task.state = "CANCELED";
      task.message = "The backup was canceled by the client";
    }
  }

  /** The current backup task, else the one that ended at the last unlock (for tests). */
  public synchronized Optional<Task> task() {
    if (task != null) {
      return Optional.of(task.snapshot());
    }
    return Optional.ofNullable(lastTask);
  }

  /** Requests and transactions in flight, for tests and logs. */
  public synchronized String inFlight() {
    return "git=" + git + " other=" + other + " tx=" + tx;
  }

  /** Waits until no request is in flight (graceful shutdown), at most {@code max}. */
  public synchronized boolean awaitIdle(Duration max) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (git + other + tx > 0) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      wait(Math.max(1, left / 1_000_000));
    }
    return true;
  }

  private void checkUnlockToken(String token) {
    if (lock == null) {
      throw MaintenanceException.notLocked(knobs.noSuchLockStatus());
    }
    if (token == null || !token.equals(lock.unlockToken())) {
      throw MaintenanceException.badToken("maintenance", knobs.wrongTokenStatus());
    }
  }
}
