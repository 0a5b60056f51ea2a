package dev.snapstash.core.error;

/**
 * What went wrong, as far as the caller can act on it. Each kind maps to one documented exit code; the mapping
 * lives in the CLI's {@code ExitCodes}, nowhere else.
 */
public enum ErrorKind {
  /** The command line itself is wrong. */
  USAGE,
  /** The configuration file or an override is invalid or incomplete. */
  CONFIG,
  /** A server (Bitbucket, database, S3, webhook) could not be reached. */
  UNREACHABLE,
  /** A server answered but refused the credentials or the permission. */
  AUTHENTICATION,
  /** The instance refused the maintenance lock, or draining did not finish before the deadline. */
  LOCK,
  /** Another snapstash run holds the backup root. */
  BUSY,
  /** Something that must be true before starting is not: non-empty target, running instance, unknown tag. */
  PRECONDITION,
  /** An external command (rsync, pg_dump, git, …) failed. */
  EXTERNAL_COMMAND,
  /** Reading or writing backup storage failed: disk full, permission, I/O error. */
  STORAGE,
  /** A check found a backup damaged or inconsistent. */
  VERIFICATION,
  /**
   * The backup itself is complete, but its copy to an archive destination failed (or that destination could not be
   * read for a list, prune or restore).
   */
  ARCHIVE,
  /** The run was interrupted (Ctrl-C, SIGTERM) and cleaned up. */
  INTERRUPTED,
  /** A bug: something no input should cause. */
  INTERNAL
}
