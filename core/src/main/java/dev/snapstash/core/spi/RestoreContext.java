package dev.snapstash.core.spi;

import java.nio.file.Path;

/**
 * One restore run, as the strategies see it.
 *
 * @param tag the backup being restored
 * @param backupDir the backup's directory (read only)
 * @param homeTarget where the Bitbucket home is restored to
 * @param force the operator confirmed overwriting a non-empty target
 * @param progress where to report progress
 */
public record RestoreContext(String tag, Path backupDir, Path homeTarget, boolean force, Progress progress) {
  /** The backup root, where the restore keeps what is private to it (see {@code PrivateFiles}). */
  public Path backupRoot() {
    return backupDir.getParent();
  }

  public Path homeDir() {
    return backupDir.resolve("home");
  }

  public Path databaseDir() {
    return backupDir.resolve("database");
  }
}
