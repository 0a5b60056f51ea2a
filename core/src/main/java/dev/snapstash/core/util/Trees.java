package dev.snapstash.core.util;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Locale;
import java.util.stream.Stream;

/** Small file-tree helpers used across strategies. */
public final class Trees {
  private Trees() {}

  /** What {@link #forEachParallel} calls for each entry that is not a directory. */
  @FunctionalInterface
  public interface EntryVisitor {
    void visit(Path entry, BasicFileAttributes attrs) throws IOException;
  }

  /**
   * Calls {@code visitor} for every entry below {@code root} that is not a directory (attributes read without
   * following links), listing directories in parallel on {@code threads} threads: a tree of 100,000 files in
   * 80,000 directories is mostly opendir and lstat calls, which wait on the kernel rather than on a core. The
   * visitor is called from several threads at once. An I/O error, the visitor's included, ends the walk as an
   * {@link UncheckedIOException}.
   */
  public static void forEachParallel(Path root, int threads, EntryVisitor visitor) {
    java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(Math.max(1, threads));
    try {
      pool.invoke(new ParallelListing(root, visitor));
    } finally {
      pool.shutdown();
    }
  }

  /** One directory: its entries visited, its subdirectories forked. */
  private static final class ParallelListing extends java.util.concurrent.RecursiveAction {
    private final Path dir;
    private final EntryVisitor visitor;

    ParallelListing(Path dir, EntryVisitor visitor) {
      this.dir = dir;
      this.visitor = visitor;
    }

    @Override
    protected void compute() {
      java.util.List<ParallelListing> subdirs = new java.util.ArrayList<>();
      try (java.nio.file.DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
        for (Path child : children) {
          BasicFileAttributes attrs =
              Files.readAttributes(child, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
          if (attrs.isDirectory()) {
            subdirs.add(new ParallelListing(child, visitor));
          } else {
            visitor.visit(child, attrs);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      invokeAll(subdirs);
    }
  }

  /** The parent of a path relative to a tree's root: "" for an entry of the root itself. */
  public static String parentOf(String relative) {
    int slash = relative.lastIndexOf('/');
    return slash < 0 ? "" : relative.substring(0, slash);
  }

  /**
   * Whether {@code relative} (a path relative to a tree's root, "" for the root) is one of {@code directories} or
   * inside one. Walks up its ancestors: at most its depth lookups.
   */
  public static boolean insideAny(String relative, java.util.Set<String> directories) {
    if (directories.isEmpty()) {
      return false;
    }
    for (String p = relative; ; p = parentOf(p)) {
      if (directories.contains(p)) {
        return true;
      }
      if (p.isEmpty()) {
        return false;
      }
    }
  }

  /**
   * Deletes a tree; a missing tree is fine (clean-up must be idempotent). Never follows symbolic links. A btrfs
   * subvolume inside it (a received, read-only backup copy) is deleted as a subvolume: its files cannot be
   * unlinked one by one.
   */
  public static void deleteRecursively(Path root) {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
              return isSubvolumeRoot(attrs) && deleteSubvolume(dir)
                  ? FileVisitResult.SKIP_SUBTREE
                  : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
              if (exc instanceof NoSuchFileException) {
                return FileVisitResult.CONTINUE;
              }
              throw exc;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
              Files.deleteIfExists(dir);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw SnapstashException.storage("cannot delete " + root + ": " + e.getMessage(), e);
    }
  }

  /** The inode number of every btrfs subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
  private static final String SUBVOLUME_ROOT_INODE = "ino=256)";

  /** Whether {@code dir} can be a btrfs subvolume's root; cheap, and true for few directories elsewhere. */
  public static boolean mayBeSubvolume(Path dir) {
    try {
      return isSubvolumeRoot(Files.readAttributes(dir, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS));
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean isSubvolumeRoot(BasicFileAttributes attrs) {
    return attrs.isDirectory() && attrs.fileKey() != null && attrs.fileKey().toString().endsWith(SUBVOLUME_ROOT_INODE);
  }

  /** Deletes {@code dir} as a btrfs subvolume; false when it is not one (then it is deleted file by file). */
  private static boolean deleteSubvolume(Path dir) {
    var runner = new dev.snapstash.core.process.ProcessRunner();
    var show = dev.snapstash.core.process.Command.of("btrfs", "subvolume", "show", dir.toString()).discardingStdout();
    try {
      if (runner.runAllowingFailure(show, l -> {}).exitCode() != 0) {
        return false;
      }
    } catch (SnapstashException e) {
      return false; // no btrfs-progs: then this is no subvolume snapstash made
    }
    try {
      runner.run(
          dev.snapstash.core.process.Command.of("btrfs", "subvolume", "delete", dir.toString())
              .discardingStdout());
      return true;
    } catch (SnapstashException e) {
      throw SnapstashException.storage("cannot delete the btrfs subvolume " + dir + ": " + e.getMessage(), e);
    }
  }

  public static boolean isEmptyOrMissing(Path dir) {
    if (!Files.exists(dir)) {
      return true;
    }
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Total size in bytes and number of regular files below {@code root} (hard links counted each time). */
  public static long[] sizeAndCount(Path root) {
    long[] acc = new long[2];
    if (!Files.exists(root)) {
      return acc;
    }
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              if (attrs.isRegularFile()) {
                acc[0] += attrs.size();
                acc[1]++;
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) {
              return FileVisitResult.CONTINUE; // a file removed while walking a live home
            }
          });
    } catch (IOException e) {
      throw SnapstashException.storage("cannot read " + root + ": " + e.getMessage(), e);
    }
    return acc;
  }

  /** Bytes of regular files below {@code root} that have no other hard link. */
  public static long unsharedBytes(Path root) {
    long[] acc = new long[1];
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
              if (attrs.isRegularFile()
                  && ((Number) Files.getAttribute(file, "unix:nlink", java.nio.file.LinkOption.NOFOLLOW_LINKS)).intValue() == 1) {
                acc[0] += attrs.size();
              }
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw SnapstashException.storage("cannot read " + root + ": " + e.getMessage(), e);
    }
    return acc[0];
  }

  public static String humanBytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = bytes;
    int i = -1;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[i]);
  }

  /**
   * An external copy that failed because the target filled up is a storage problem, not a tool problem: say so,
   * so the operator frees space instead of debugging rsync.
   */
  public static SnapstashException explainStorage(SnapstashException e, String target) {
    return explainStorage(e, target, null);
  }

  /** Below this much usable space, a tool that failed while writing under the target most likely filled it. */
  static final long NEARLY_FULL = 1024 * 1024;

  /**
   * As {@link #explainStorage(SnapstashException, String)}, and also when the tool's own message does not say so
   * (pg_dump's parallel workers die with "a worker process died unexpectedly", and the worker's ENOSPC line may be
   * past the kept tail) but the filesystem holding {@code written} is full now: looked at straight after the
   * failure, before the partial copy is removed, which would free the space again.
   */
  public static SnapstashException explainStorage(SnapstashException e, String target, Path written) {
    if (e.kind() != ErrorKind.EXTERNAL_COMMAND && e.kind() != ErrorKind.INTERNAL) {
      return e;
    }
    String m =
        e instanceof dev.snapstash.core.process.CommandFailedException f
            ? f.stderrTail() + "\n" + f.getMessage()
            : String.valueOf(e.getMessage());
    boolean said = m.contains("No space left on device") || m.contains("Disk quota exceeded");
    long free = written == null ? Long.MAX_VALUE : usableSpace(written);
    if (!said && free >= NEARLY_FULL) {
      return e;
    }
    String why = said ? "No space left on device" : humanBytes(Math.max(0, free)) + " left after the copy failed";
    SnapstashException s =
        new SnapstashException(
            ErrorKind.STORAGE, "the backup target " + target + " is full (" + why + "); free space under"
                + " backup.root or prune old backups", e);
    for (Throwable t : e.getSuppressed()) {
      s.addSuppressed(t);
    }
    return s;
  }

  /** Usable space of the filesystem holding {@code p} (or its nearest existing parent); MAX_VALUE if unknown. */
  private static long usableSpace(Path p) {
    for (Path q = p.toAbsolutePath(); q != null; q = q.getParent()) {
      if (Files.exists(q)) {
        try {
          return Files.getFileStore(q).getUsableSpace();
        } catch (IOException | RuntimeException e) {
          return Long.MAX_VALUE;
        }
      }
    }
    return Long.MAX_VALUE;
  }
}
