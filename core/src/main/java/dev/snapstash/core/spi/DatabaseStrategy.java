package dev.snapstash.core.spi;

/**
 * How the Bitbucket database is copied and restored. One implementation per database kind, each in its own
 * package ({@code dev.snapstash.strategy.database.<name>}); {@code none} is a null object.
 *
 * <p>The engine calls, in order: {@link #check} (before anything, never changes anything), {@link #prepareBackup}
 * (before the lock), {@link #backup} (under the lock, in parallel with the disk copy), and on any failure {@link
 * #cleanupIncomplete}. Implementations keep no state between calls except what they were constructed with:
 * everything a later step needs is in the context or the returned records.
 *
 * <p>Secrets (passwords) reach tools only through the environment or files, never through argv.
 */
public interface DatabaseStrategy {
  /** The configuration name, e.g. "postgresql". */
  String name();

  /**
   * Checks tools, versions, connectivity and credentials, adding facts and problems; throws nothing for a
   * problem it can describe. Must not change anything.
   */
  void check(Findings findings);

  /** Work that can happen before the lock (nothing for most databases). */
  default void prepareBackup(BackupContext context) {}

  /**
   * Takes a consistent copy of the database into {@link BackupContext#databaseDir()}. Runs under the lock, in
   * parallel with the disk strategy's copy. Interruptible: an interrupt stops the dump promptly and throws.
   */
  CopyResult backup(BackupContext context);

  /**
   * Removes whatever {@link #backup} may have left for an incomplete backup. Idempotent; safe when backup never
   * ran.
   */
  default void cleanupIncomplete(BackupContext context) {}

  /**
   * Refuses (throws {@link dev.snapstash.core.error.SnapstashException} of kind PRECONDITION) when the restore
   * target is not safe to restore into: the target database already has tables, unless {@code context.force()}.
   * Must not change anything.
   */
  void prepareRestore(RestoreContext context);

  /** Restores the copy in {@link RestoreContext#databaseDir()} into the configured target database. */
  void restore(RestoreContext context);

  /** Checks the artifacts are readable by the database's own tools (pg_restore --list, dump header). */
  default void verify(RestoreContext context, Findings findings) {}
}
