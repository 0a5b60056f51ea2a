package dev.snapstash.core.spi;

/**
 * How the Bitbucket home (and data stores) is copied and restored. One implementation per kind, each in its own
 * package ({@code dev.snapstash.strategy.disk.<name>}); {@code none} is a null object.
 *
 * <p>The engine calls, in order: {@link #startReading} beside {@link #check}, {@link #prepareBackup} (before the
 * lock, with the instance live: the place for a long pre-copy), {@link #backup} (under the lock: must be as short
 * as possible, it is downtime), {@link #afterUnlock} (after the lock is released: copy a snapshot off-host), on any
 * failure {@link #cleanupIncomplete}, and at the very end {@link #endRun}. An instance serves one run. Beyond
 * construction parameters, the only state kept between calls is what {@link #startReading} and {@link
 * #prepareBackup} start for {@link #backup} (rsync's change tracker); {@link #backup}, {@link #cleanupIncomplete}
 * and {@link #endRun} each release it.
 */
public interface DiskStrategy extends Strategy {


  /** Checks tools, versions, paths and free space; must not change anything. */
  void check(Findings findings);

  /**
   * Starts, beside the preflight checks, work that only reads the home and writes nothing the user can see (rsync's
   * change tracker walks the home: seconds on a home of 100,000 files, which the preflight's waits can hide). Must
   * return at once. {@link #prepareBackup} takes the work over; {@link #endRun} releases it if the run ends first,
   * a failed preflight included.
   *
   * @param backupRoot the backup root, which this run's guard holds: scratch space may go there, named so that
   *     the next run can recognise and remove what a killed run left
   */
  default void startReading(java.nio.file.Path backupRoot) {}

  /** The end of a backup run, however it ended: releases whatever {@link #startReading} started. Idempotent. */
  default void endRun() {}

  /** Work before the lock, with the instance live (rsync pre-copy). */
  default void prepareBackup(BackupContext context) {}

  /** The consistent copy, under the lock. Interruptible. */
  CopyResult backup(BackupContext context);

  /** Work after the unlock that completes the backup (copy a snapshot off-host). */
  default CopyResult afterUnlock(BackupContext context, CopyResult underLock) {
    return underLock;
  }

  /** Removes what this strategy made for an incomplete backup; idempotent. */
  default void cleanupIncomplete(BackupContext context) {}

  /** Refuses (PRECONDITION) an unsafe target (non-empty home unless forced); must not change anything. */
  void prepareRestore(RestoreContext context);

  /** Restores the home into {@link RestoreContext#homeTarget()}, keeping ownership and permissions. */
  void restore(RestoreContext context);
}
