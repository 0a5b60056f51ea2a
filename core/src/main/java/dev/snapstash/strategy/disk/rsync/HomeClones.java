package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * How a backup's home starts out on a btrfs backup root: as a writable snapshot of the previous backup's home, or
 * as an empty subvolume that the next backup can snapshot in turn.
 *
 * <p>A snapshot shares every block and every directory with the previous copy, so the pre-copy only compares the
 * home with it and rewrites what changed; {@code --link-dest} instead creates a directory per directory and a hard
 * link per file, which costs as much as a full copy on a home of many small files (docs/performance.md). And the
 * two copies share no inode: rsync may change a file's mode or times in place without reaching the previous
 * backup, so the shared-inode guard has nothing to do.
 */
final class HomeClones {
  private HomeClones() {}

  /** The command that makes the new home, whether it is a snapshot of the previous one, and why. */
  record Plan(Command command, boolean snapshot, String description) {}

  /**
   * The command that makes {@code target} (not yet existing) a subvolume, or empty when the backup root is not on
   * btrfs. The previous home is snapshotted only when it is itself a subvolume and was copied with the same
   * excludes: files it holds that are excluded now would otherwise stay in every later backup, since rsync never
   * deletes excluded names.
   */
  static Optional<Plan> plan(Path target, Optional<Path> previousBackup, String excludes) {
    if (!onBtrfs(target)) {
      return Optional.empty();
    }
    Optional<Path> previousHome = previousBackup.map(p -> p.resolve("home")).filter(Files::isDirectory);
    if (previousHome.isEmpty()) {
      return Optional.of(new Plan(create(target), false, "a new btrfs subvolume (no previous backup)"));
    }
    if (!Trees.mayBeSubvolume(previousHome.get())) {
      return Optional.of(new Plan(create(target), false, "a new btrfs subvolume (the previous backup's home is not one): a full copy"));
    }
    if (!excludes.equals(excludesOf(previousBackup.get()).orElse(null))) {
      return Optional.of(new Plan(create(target), false, "a new btrfs subvolume (the previous backup had other excludes): a full copy"));
    }
    return Optional.of(new Plan(snapshot(previousHome.get(), target), true, "a btrfs snapshot of the previous backup's home"));
  }

  static Command create(Path subvolume) {
    return Command.of("btrfs", "subvolume", "create", subvolume.toString()).capturingStdout();
  }

  /** A writable snapshot: the new backup's home, to be brought up to date by rsync. */
  static Command snapshot(Path previousHome, Path target) {
    return Command.of("btrfs", "subvolume", "snapshot", previousHome.toString(), target.toString()).capturingStdout();
  }

  /** The excludes the rsync strategy recorded in a backup's manifest; empty when it has none (another strategy). */
  static Optional<String> excludesOf(Path backupDir) {
    return dev.snapstash.core.spi.PreviousCopy.of(backupDir, "home")
        .filter(c -> c.strategy().equals("rsync"))
        .flatMap(c -> Optional.ofNullable(c.details().get("excludes")));
  }

  /** Whether the nearest existing directory of {@code path} is on btrfs. */
  static boolean onBtrfs(Path path) {
    Path existing = path.toAbsolutePath();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    try {
      return existing != null && Files.getFileStore(existing).type().equals("btrfs");
    } catch (IOException e) {
      return false;
    }
  }
}
