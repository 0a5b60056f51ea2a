package dev.snapstash.core.spi;

/**
 * What a strategy can do, declared by the strategy itself, so that the engine and the command line decide by what
 * a strategy does, never by its name.
 */
public enum Capability {
  /** A quiescer that really stops the application writing while its lock is held (not {@code none}). */
  LOCKS,
  /** A disk strategy that copies the home into the backup (not {@code none}). */
  COPIES_HOME,
  /**
   * A disk strategy whose copy under the lock captures the whole home at one instant (a block or filesystem
   * snapshot): what makes a backup without a lock (zero-downtime mode) consistent.
   */
  ATOMIC_CAPTURE,
  /**
   * A database strategy for which the home's embedded database files ({@code data/db.*}) are no concern of the disk
   * copy: it copies them itself (H2), or the instance uses an external server and they are stale leftovers.
   */
  OWNS_EMBEDDED_DATABASE_FILES,
  /**
   * A database strategy whose copy a {@code verify} can restore into a private scratch database and query (see
   * {@link DatabaseStrategy#scratch}).
   */
  SCRATCH_RESTORE,
  /** A strategy that freezes a filesystem (fsfreeze) while it captures; the run's watchdog applies. */
  NEEDS_FREEZE
}
