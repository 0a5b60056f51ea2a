package dev.snapstash.core.spi;

/**
 * How the Bitbucket home (and data stores) is copied and restored. One implementation per kind, each in its own
 * package ({@code dev.snapstash.strategy.disk.<name>}); {@code none} is a null object.
 *
 * <p>A strategy object lives as long as its configuration and holds nothing else: every backup is a {@link Run},
 * which {@link #begin} starts and which owns whatever that backup needs between its steps (rsync's change tracker,
 * the plan of the new home). Restores keep no state between calls and stay on the strategy.
 *
 * <p>The engine calls, for one backup: {@link #begin} beside {@link #check} (the run may start reading the home at
 * once), then on the run {@link Run#prepareBackup} (before the lock, with the instance live: the place for a long
 * pre-copy), {@link Run#backup} (under the lock: must be as short as possible, it is downtime), {@link
 * Run#afterUnlock} (after the lock is released: copy a snapshot off-host), on any failure {@link
 * Run#cleanupIncomplete}, and at the very end, however the run ended (a failed preflight included, when none of
 * the other steps ran), {@link Run#close}. A run serves one backup and is used from one thread at a time; strategy
 * objects may start several runs one after another.
 */
public interface DiskStrategy extends Strategy {

  /** Checks tools, versions, paths and free space; must not change anything. */
  void check(Findings findings);

  /**
   * Starts one backup run and returns at once. The run may start, beside the preflight checks, work that only reads
   * the home and writes nothing the user can see (rsync's change tracker walks the home: seconds on a home of
   * 100,000 files, which the preflight's waits can hide); {@link Run#prepareBackup} takes that work over, and
   * {@link Run#close} releases it if the run ends first.
   *
   * @param backupRoot the backup root, which this run's guard holds: scratch space may go there, named so that
   *     the next run can recognise and remove what a killed run left
   */
  Run begin(java.nio.file.Path backupRoot);

  /** Refuses (PRECONDITION) an unsafe target (non-empty home unless forced); must not change anything. */
  void prepareRestore(RestoreContext context);

  /** Restores the home into {@link RestoreContext#homeTarget()}, keeping ownership and permissions. */
  void restore(RestoreContext context);

  /**
   * One backup by a disk strategy, from {@link #begin} to {@link #close}: the only place a strategy keeps state
   * between the steps of a backup. Every step gets the same {@link BackupContext} (under the lock, one with the
   * lock's progress).
   */
  interface Run extends AutoCloseable {
    /** Work before the lock, with the instance live (rsync's pre-copy). */
    default void prepareBackup(BackupContext context) {}

    /**
     * The consistent copy, under the lock. Interruptible: an interrupt stops it promptly and it throws (kind
     * INTERRUPTED, or the failure of the command it stopped); {@link #cleanupIncomplete} then removes what it wrote.
     */
    CopyResult backup(BackupContext context);

    /** Work after the unlock that completes the backup (copy a snapshot off-host). */
    default CopyResult afterUnlock(BackupContext context, CopyResult underLock) {
      return underLock;
    }

    /**
     * Removes what this run made for an incomplete backup: its part of {@link BackupContext#backupDir()} and
     * anything it made elsewhere (a snapshot). Idempotent; safe when no other step ran.
     */
    default void cleanupIncomplete(BackupContext context) {}

    /**
     * The end of the run, however it ended: releases whatever the run holds (threads, inotify instances, scratch
     * directories in the backup root), without waiting for long work to stop. Never throws; idempotent.
     */
    @Override
    default void close() {}
  }
}
