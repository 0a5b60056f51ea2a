package dev.snapstash.core.spi;

import dev.snapstash.core.util.FileModes;
import java.nio.file.Path;
import java.util.Optional;

/**
 * One backup run, as the strategies see it.
 *
 * @param tag the backup's tag, {@code <instance-name>-<yyyyMMdd-HHmmss>}
 * @param backupDir the new backup's directory; each strategy writes only below its own subdirectory of it
 *     ({@code home/} for disk, {@code database/} for database)
 * @param previous the newest complete backup's directory, for incremental strategies (rsync --link-dest)
 * @param progress where to report progress
 * @param undo where side effects that outlive a crash (snapshots, frozen mounts) are recorded before use
 * @param modes what every directory and file a strategy makes for the backup gets (not the copy of the home, which
 *     keeps the home's own modes), and what it gives the files a tool it ran has written
 * @param previousCheck the engine's check of the previous backup's home copy: which of its files must not be
 *     linked, cloned or received on top of
 */
public record BackupContext(
    String tag,
    Path backupDir,
    Optional<Path> previous,
    Progress progress,
    UndoLog undo,
    FileModes modes,
    PreviousHomeCheck previousCheck) {
  /** A context whose side effects are not journaled (tests, tools that run without a crash journal). */
  public BackupContext(String tag, Path backupDir, Optional<Path> previous, Progress progress) {
    this(tag, backupDir, previous, progress, UndoLog.NONE);
  }

  /** A context whose files are readable by their owner only, and whose previous copy is not checked. */
  public BackupContext(String tag, Path backupDir, Optional<Path> previous, Progress progress, UndoLog undo) {
    this(tag, backupDir, previous, progress, undo, FileModes.ownerOnly(), PreviousHomeCheck.NONE);
  }

  /** A context whose previous copy is not checked (a strategy tested alone). */
  public BackupContext(
      String tag, Path backupDir, Optional<Path> previous, Progress progress, UndoLog undo, FileModes modes) {
    this(tag, backupDir, previous, progress, undo, modes, PreviousHomeCheck.NONE);
  }

  /** A context whose files are readable by their owner only. */
  public BackupContext(
      String tag, Path backupDir, Optional<Path> previous, Progress progress, UndoLog undo, PreviousHomeCheck previousCheck) {
    this(tag, backupDir, previous, progress, undo, FileModes.ownerOnly(), previousCheck);
  }

  /** The backup root, where the run keeps what is private to it (see {@code PrivateFiles}). */
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
