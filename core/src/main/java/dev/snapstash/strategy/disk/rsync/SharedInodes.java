package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;

/**
 * Keeps the delta under the lock from writing through a hard link into an older backup.
 *
 * <p>The pre-copy hard-links every unchanged file against the previous backup ({@code --link-dest}), so both
 * backups hold one inode. rsync never rewrites a file's bytes in place (it writes a new file and renames it), but
 * when only the mode, owner, ACLs or extended attributes changed after the pre-copy, the delta applies them to the
 * existing inode, and so to the previous backup's copy as well. Every such change moves the original's change
 * time (ctime) forward, so before the delta, each copied file that shares its inode and whose original changed
 * since the pre-copy began is unlinked from the new backup; rsync then writes it afresh. Symbolic links too:
 * {@code --link-dest} hard-links them as well.
 *
 * <p>The change time only settles the question once nothing changes any more, under the lock. The live catch-up
 * runs beside the instance, so a mode could change between this unlink and rsync's look at the file: it unlinks
 * every shared file of the changed directories instead ({@link #EVERY}), and rsync links again those that still
 * match the previous backup.
 */
final class SharedInodes {
  private SharedInodes() {}

  /** As {@code since}: every shared file, whenever it changed (no change time is earlier). */
  static final Instant EVERY = Instant.EPOCH;

  /**
   * Unlinks, in {@code copy}, the shared files whose original in {@code home} changed since {@code since}, among
   * the immediate entries of the changed directories and everything under the new subtrees (paths relative to all
   * three roots), where {@code previous} (the home of the backup the pre-copy linked against) has them. Returns
   * how many it unlinked.
   */
  static int unshare(Path home, Path copy, Path previous, Changes changes, Instant since) {
    FileTime threshold = FileTime.from(since);
    int[] count = {0};
    try {
      for (String d : changes.directories()) {
        Path dir = copy.resolve(d);
        // Only the previous backup is linked against: where it has no such directory, nothing here is shared.
        if (!Files.isDirectory(previous.resolve(d), LinkOption.NOFOLLOW_LINKS)
            || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
          for (Path entry : entries) {
            if (unshareIfChanged(home.resolve(copy.relativize(entry).toString()), entry, threshold)) {
              count[0]++;
            }
          }
        }
      }
      for (String t : changes.subtrees()) {
        Path tree = copy.resolve(t);
        if (!Files.isDirectory(previous.resolve(t), LinkOption.NOFOLLOW_LINKS)
            || !Files.isDirectory(tree, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        Files.walkFileTree(
            tree,
            new SimpleFileVisitor<>() {
              @Override
              public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                boolean linkable = attrs.isRegularFile() || attrs.isSymbolicLink();
                if (linkable && unshareIfChanged(home.resolve(copy.relativize(file).toString()), file, threshold)) {
                  count[0]++;
                }
                return FileVisitResult.CONTINUE;
              }
            });
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot prepare the delta in " + copy + ": " + e.getMessage(), e);
    }
    return count[0];
  }

  /**
   * The same guard for a delta that walks the whole home (changes not tracked): every shared file of the copy
   * whose original changed since {@code since}, found by a parallel walk of the copy. On a home of 100,000 files
   * that is a second or two under the lock, against the ten or more the whole-home rsync takes anyway.
   */
  static int unshareEverywhere(Path home, Path copy, Instant since, int threads) {
    if (!Files.isDirectory(copy, LinkOption.NOFOLLOW_LINKS)) {
      return 0;
    }
    FileTime threshold = FileTime.from(since);
    java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();
    try {
      Trees.forEachParallel(copy, threads, (entry, attrs) -> {
        if (unshareIfChanged(home.resolve(copy.relativize(entry).toString()), entry, threshold)) {
          count.incrementAndGet();
        }
      });
    } catch (java.io.UncheckedIOException e) {
      throw SnapstashException.storage("cannot prepare the delta in " + copy + ": " + e.getCause().getMessage(), e);
    }
    return count.get();
  }

  /**
   * Whether {@code copy} is still {@code previous}'s file: the same inode (a hard link), or its untouched clone in a
   * snapshot (the same inode number and change time in another subvolume). False when either is missing.
   */
  static boolean sameFile(Path copy, Path previous) {
    try {
      Map<String, Object> a = Files.readAttributes(copy, "unix:ino,ctime", LinkOption.NOFOLLOW_LINKS);
      Map<String, Object> b = Files.readAttributes(previous, "unix:ino,ctime", LinkOption.NOFOLLOW_LINKS);
      return a.equals(b);
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  private static boolean unshareIfChanged(Path original, Path copied, FileTime threshold) throws IOException {
    Map<String, Object> c;
    try {
      c = Files.readAttributes(copied, "unix:mode,nlink", LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException gone) {
      return false;
    }
    // rsync's --link-dest links symbolic links too, and changes their owner and time in place.
    int type = ((Integer) c.get("mode")) & 0170000;
    boolean linkable = type == 0100000 || type == 0120000;
    if (!linkable || ((Integer) c.get("nlink")) < 2) {
      return false;
    }
    FileTime changed;
    try {
      changed = (FileTime) Files.getAttribute(original, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException gone) {
      return false; // rsync --delete removes it, which only drops this backup's link
    }
    if (changed.compareTo(threshold) < 0) {
      return false;
    }
    Files.deleteIfExists(copied);
    return true;
  }
}
