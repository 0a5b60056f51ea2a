package dev.snapstash.core.spi;

/**
 * How the Bitbucket database is copied and restored. One implementation per database kind, each in its own
 * package ({@code dev.snapstash.strategy.database.<name>}); {@code none} is a null object.
 *
 * <p>The engine calls, in order: {@link #check} (before anything, never changes anything), {@link #prepareBackup}
 * (before the lock), which returns the backup's {@link Run}; {@link Run#capture} (under the lock, in parallel with
 * the disk copy); {@link Pending#finish} (after the unlock); {@link Pending#close} and {@link Run#close} however the
 * backup ends; and on any failure {@link #cleanupIncomplete}. An implementation keeps no state of a run: its fields
 * are its configuration, final, and one instance serves any number of runs, in turn or at once. Whatever a later
 * step needs is in the context, the {@link Run} or the {@link Pending}.
 *
 * <p>Secrets (passwords) reach tools only through the environment or files, never through argv.
 */
public interface DatabaseStrategy extends Strategy {

  /**
   * Checks tools, versions, connectivity and credentials, adding facts and problems; throws nothing for a
   * problem it can describe. Must not change anything.
   */
  void check(Findings findings);

  /**
   * Starts one backup's copy of the database, before the lock and with the instance live: whatever can be done
   * ahead (finding the dump tool and its version, opening a session) so that the lock is held as briefly as
   * possible. The caller closes the returned run however the backup ends. The default prepares nothing and copies
   * everything under the lock with {@link #backup}.
   */
  default Run prepareBackup(BackupContext context) {
    return underLock -> Pending.done(backup(underLock));
  }

  /**
   * Takes a consistent copy of the database into {@link BackupContext#databaseDir()}, all at once: what the default
   * {@link Run} does under the lock, in parallel with the disk strategy's copy. Interruptible: an interrupt stops
   * the dump promptly and throws.
   */
  CopyResult backup(BackupContext context);

  /**
   * One backup's copy of the database, from {@link #prepareBackup} to {@link #close()}. It owns what preparing
   * opened until {@link #capture} takes it over, and is used by one thread at a time.
   */
  interface Run extends AutoCloseable {
    /**
     * Under the lock: fixes the database's consistent point and returns how to finish the copy, which the engine
     * calls after the unlock. Called at most once. A strategy that can pin a snapshot (PostgreSQL's exported
     * snapshots) returns within milliseconds and dumps from that snapshot after the unlock, so the lock window no
     * longer grows with the size of the database.
     */
    Pending capture(BackupContext context);

    /**
     * Releases what {@link #prepareBackup} opened and {@link #capture} did not take over (a session that never
     * pinned anything). Idempotent; throws nothing, as it runs on the failure path.
     */
    @Override
    default void close() {}
  }

  /**
   * A copy whose consistent point is fixed and whose work may still be ahead. {@link #close()} is always called,
   * after {@link #finish()} or instead of it on failure, and releases what pins the point (a transaction).
   */
  interface Pending extends AutoCloseable {
    /** Completes the copy; may take long. Called at most once, after the unlock. */
    CopyResult finish();

    /** Whether the copy is already complete (it then counts as copied under the lock). */
    default boolean done() {
      return false;
    }

    @Override
    default void close() {}

    static Pending done(CopyResult result) {
      return new Pending() {
        @Override
        public CopyResult finish() {
          return result;
        }

        @Override
        public boolean done() {
          return true;
        }
      };
    }
  }

  /**
   * Removes whatever {@link #backup} or a {@link Run} may have left for an incomplete backup, in {@link
   * BackupContext#databaseDir()}. Idempotent; safe when nothing ran. What a run holds open, its {@link Run#close}
   * releases.
   */
  default void cleanupIncomplete(BackupContext context) {}

  /**
   * Refuses (throws {@link dev.snapstash.core.error.SnapstashException} of kind PRECONDITION) when the restore
   * target is not safe to restore into: other clients have sessions on the target database (a live instance uses
   * it), whatever {@code context.force()} says; or the target database already holds tables, unless {@code
   * context.force()}, and then the message says what a forced restore would destroy. Must not change anything.
   * {@link #restore} checks the same again before it writes.
   */
  void prepareRestore(RestoreContext context);

  /**
   * The database {@link #restore} writes into and the login to it, for the restored home's {@code
   * bitbucket.properties}; empty when the database lives in the home (H2) or is not restored at all. Must not
   * connect or change anything.
   */
  default java.util.Optional<JdbcLogin> restoredDatabase() {
    return java.util.Optional.empty();
  }

  /**
   * The files below the restored home that {@link #restore} writes or replaces (an embedded database), as paths
   * relative to the home; empty for a database that lives elsewhere. When there are any, the database is
   * restored after the home rather than beside it (a disk strategy may put the home there in one piece, as a
   * snapshot, and the database's own consistent copy must win over database files that came with the home), and
   * the check of the restored home leaves these files to the database's checks.
   */
  default java.util.List<String> homeFilesRestored(RestoreContext context) {
    return java.util.List.of();
  }

  /**
   * Restores the copy in {@link RestoreContext#databaseDir()} into the configured target database. A forced
   * restore into a database that holds objects empties it first, all or nothing: a failure leaves it empty or as it
   * was, never half-emptied.
   */
  void restore(RestoreContext context);

  /**
   * A connection to the database that {@link #restore} wrote for {@code context}, so the restored result can be
   * cross-checked against the restored repositories. Empty when there is nothing to query (no database, or one
   * whose files live in the home and need their own server). The caller closes it. Must not change anything.
   */
  default java.util.Optional<java.sql.Connection> connectRestored(RestoreContext context) throws java.sql.SQLException {
    return java.util.Optional.empty();
  }

  /**
   * Private, throw-away databases of this kind that a backup's copy can be restored into and queried ({@code
   * verify}, drills): a server of snapstash's own on a free loopback port, never the configured one, or a file under
   * the scratch home. Empty for a strategy whose copy cannot be restored alone ({@link
   * Capability#SCRATCH_RESTORE} says whether it can).
   *
   * @param workDir scratch space the caller owns and removes
   */
  default java.util.Optional<ScratchDatabase.Factory> scratch(java.nio.file.Path workDir) {
    return java.util.Optional.empty();
  }

  /** Checks the artifacts are readable by the database's own tools (pg_restore --list, dump header). */
  default void verify(RestoreContext context, Findings findings) {}
}
