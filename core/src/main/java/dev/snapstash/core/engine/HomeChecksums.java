package dev.snapstash.core.engine;

import dev.snapstash.core.home.HomeIndex;
import dev.snapstash.core.util.Digests;
import dev.snapstash.core.util.FileModes;
import dev.snapstash.core.util.ListLines;
import dev.snapstash.core.util.Trees;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * SHA-256 of every file of a backed-up home, in {@code home.sha256} beside the {@code home/} directory, in the
 * format of {@code sha256sum} so an operator can check a backup by hand ({@code cd home && sha256sum -c
 * ../home.sha256}).
 *
 * <p>Computed after the unlock, so it costs no downtime. Incremental: a file hard-linked to the previous backup's
 * copy (same inode, so the same bytes) takes its digest from the previous list instead of being read again, and a
 * directory that this backup's {@link HomeIndex} and the previous one's vouch for is not even looked at: its lines
 * are the previous list's. A digest is taken over only where the previous copy's file was proven unchanged since it
 * was hashed ({@link PreviousHome}); never from a damaged copy, whose recorded digest is kept for a file still
 * sharing it, so that verification catches it rather than a digest of the damage.
 *
 * <p>Beside the list, {@link HomeStamps} records each file's inode and change time as they were when its digest was
 * taken, for the next backup's check.
 */
public final class HomeChecksums {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HomeChecksums.class);
  public static final String FILE = "home.sha256";

  private HomeChecksums() {}

  /** What a verification found. */
  public record Check(long files, List<String> mismatched, List<String> missing) {
    public boolean ok() {
      return mismatched.isEmpty() && missing.isEmpty();
    }
  }

  /**
   * What {@link #write} found in the copy: every regular file, its total size, and what this backup added on disk
   * (each inode once, except the previous backup's: a file hard-linked against it costs nothing).
   */
  public record Summary(long files, long bytes, long unsharedBytes, long hashed, long vouched) {}

  /** One regular file of the copy, as a walk saw it. */
  record Entry(String rel, long size, Object fileKey) {}

  /**
   * What a pass over the copy found: the regular files it looked at, sorted by path, and the lines of the previous
   * list it carries over for files it did not look at (indexes into it, in its order) with their total size.
   */
  record Listing(List<Entry> files, int[] carried, long carriedBytes) {}

  /**
   * What one file contributes: its digest, whether it is the previous backup's inode (no new space), and its stamp
   * for the next backup (null when nothing vouches for its digest).
   */
  private record Digest(String sha256, boolean linked, boolean hashed, HomeStamps.Stamp stamp) {}

  /**
   * Writes {@code backupDir/home.sha256} for {@code backupDir/home}. One pass over the copy gives the list, the sizes
   * and each file's inode; the previous backup's file is looked at only where it has a digest to reuse. Where this
   * backup's {@link HomeIndex} and the previous one's vouch for a directory, its lines are the previous list's
   * (see {@link IndexPass}). Also writes {@link HomeStamps}.
   *
   * <p>Takes the previous copy as it is, unchecked: for a first backup, and for a caller that checked that copy
   * itself. A backup run checks it with {@link PreviousHome} and calls {@link #write(Path, PreviousHome, int)}.
   */
  public static Summary write(Path backupDir, Optional<Path> previousBackupDir, int threads) {
    return write(backupDir, PreviousHome.trusting(previousBackupDir), threads, FileModes.ownerOnly());
  }

  /** {@link #write(Path, Optional, int)}, the lists getting {@code modes}' file mode. */
  public static Summary write(Path backupDir, Optional<Path> previousBackupDir, int threads, FileModes modes) {
    return write(backupDir, PreviousHome.trusting(previousBackupDir), threads, modes);
  }

  /** {@link #write(Path, PreviousHome, int, FileModes)} for files readable by their owner only. */
  public static Summary write(Path backupDir, PreviousHome check, int threads) {
    return write(backupDir, check, threads, FileModes.ownerOnly());
  }

  /**
   * As {@link #write(Path, Optional, int)}, taking over digests only where {@code check} proved the previous copy's
   * file unchanged; the directories of the files it could not prove are listed, never vouched for. The lists get
   * {@code modes}' file mode.
   */
  public static Summary write(Path backupDir, PreviousHome check, int threads, FileModes modes) {
    Optional<Path> previousBackupDir = check.backupDir();
    Path home = backupDir.resolve("home");
    Path prevHome = previousBackupDir.map(p -> p.resolve("home")).orElse(null);
    long start = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    try {
      PreviousHome.Result checked = check.result();
      Future<DigestList> list = java.util.concurrent.CompletableFuture.completedFuture(checked.list());
      Set<String> unvouched = new HashSet<>();
      checked.unproven().forEach(p -> unvouched.add(Trees.parentOf(p)));
      Optional<IndexPass> pass =
          previousBackupDir.isEmpty()
              ? Optional.empty()
              : IndexPass.of(backupDir, previousBackupDir.get(), list, pool, unvouched);
      DigestList previous = checked.list();
      Set<String> damaged = new HashSet<>(checked.damaged());
      long t1 = System.nanoTime();
      Listing listing =
          pass.flatMap(p -> p.list(home, threads)).orElseGet(() -> new Listing(entries(home, threads), new int[0], 0));
      long t2 = System.nanoTime();
      List<Entry> files = listing.files();
      List<Future<Digest>> digests = new ArrayList<>(files.size());
      for (Entry e : files) {
        // The reuse test is a stat call per file: on 100,000 files it is worth spreading over the pool too.
        digests.add(pool.submit(() -> digest(e, home, prevHome, previous, damaged)));
      }
      List<Digest> done = new ArrayList<>(files.size());
      Set<Object> linkedInodes = new HashSet<>();
      for (int i = 0; i < files.size(); i++) {
        Digest d = digests.get(i).get();
        done.add(d);
        if (d.linked() && files.get(i).fileKey() != null) {
          linkedInodes.add(files.get(i).fileKey());
        }
      }
      // The files carried over are counted by the index, and are the previous backup's: they add no space written.
      long bytes = listing.carriedBytes();
      long unshared = 0;
      long hashed = 0;
      // Space written is counted per inode: a file with two names in the home is stored once, and a name linked
      // within the copy to another that is the previous backup's inode adds nothing either.
      Set<Object> counted = new HashSet<>();
      for (int i = 0; i < files.size(); i++) {
        Digest d = done.get(i);
        Entry e = files.get(i);
        bytes += e.size();
        Object key = e.fileKey();
        if (!d.linked() && (key == null || (!linkedInodes.contains(key) && counted.add(key)))) {
          unshared += e.size();
        }
        hashed += d.hashed() ? 1 : 0;
      }
      long t3 = System.nanoTime();
      Path tmp = backupDir.resolve(FILE + ".tmp");
      try (HomeStamps.Writer stamps = new HomeStamps.Writer(backupDir, modes)) {
        writeList(modes.newOutputStream(tmp), stamps, listing, done, previous, checked.stamps());
        stamps.commit();
      }
      Files.move(tmp, backupDir.resolve(FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      long shared = 0;
      for (int i = 0; i < files.size(); i++) {
        shared += done.get(i).linked() && damaged.contains(files.get(i).rel()) ? 1 : 0;
      }
      if (shared > 0) {
        log.warn(
            "{} file(s) of this backup still share a damaged copy of the previous backup's; their listed digests are"
                + " the ones first recorded, so verifying this backup shows them", shared);
      }
      log.debug(
          "checksums: indexes and previous list read in {} ms, {} listed in {} ms, {} files looked at in {} ms, list written in {} ms",
          (t1 - start) / 1_000_000, pass.isPresent() ? "directories not vouched for" : "the whole copy",
          (t2 - t1) / 1_000_000, files.size(), (t3 - t2) / 1_000_000, (System.nanoTime() - t3) / 1_000_000);
      int carried = listing.carried().length;
      return new Summary(files.size() + carried, bytes, unshared, hashed, carried);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + backupDir.resolve(FILE) + ": " + e.getMessage(), e);
    } catch (ExecutionException e) {
      throw SnapstashException.storage("cannot read a file of " + home + ": " + e.getCause().getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while checksumming " + home, e);
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * The files looked at and the lines carried over, merged in path order. The two never name the same file: a
   * carried line is in a directory the pass did not list, a file looked at in one it listed.
   */
  private static void writeList(
      OutputStream to, HomeStamps.Writer stamps, Listing listing, List<Digest> digests, DigestList previous,
      HomeStamps previousStamps) throws IOException {
    List<Entry> files = listing.files();
    int[] carried = listing.carried();
    try (OutputStream out = new BufferedOutputStream(to, 1 << 16)) {
      int c = 0;
      for (int i = 0; i < files.size(); i++) {
        String rel = files.get(i).rel();
        for (; c < carried.length && previous.path(carried[c]).compareTo(rel) < 0; c++) {
          carry(carried[c], out, stamps, previous, previousStamps);
        }
        out.write(line(digests.get(i).sha256(), rel).getBytes(StandardCharsets.UTF_8));
        stamps.add(rel, digests.get(i).stamp());
      }
      for (; c < carried.length; c++) {
        carry(carried[c], out, stamps, previous, previousStamps);
      }
    }
  }

  /**
   * A line of a vouched directory, and its stamp: the file is the previous copy's, untouched (a snapshot keeps
   * inode numbers and change times), and its stamp was proven, or the directory would not be vouched for.
   */
  private static void carry(int line, OutputStream out, HomeStamps.Writer stamps, DigestList previous, HomeStamps previousStamps)
      throws IOException {
    previous.writeLine(line, out);
    stamps.add(previous.path(line), previousStamps.of(previous.path(line)));
  }

  /** What a task on a pool returned; what it threw, thrown here. */
  static <T> T result(Future<T> task) throws InterruptedException {
    try {
      return task.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private static Digest digest(Entry e, Path home, Path prevHome, DigestList previous, Set<String> damaged)
      throws IOException {
    Path file = home.resolve(e.rel());
    // Before the file is read: a change while it is read then fails the next backup's check.
    HomeStamps.Stamp stamp = HomeStamps.now(file).orElse(null);
    Path prev = prevHome == null ? null : prevHome.resolve(e.rel());
    BasicFileAttributes before = prev == null ? null : attributes(prev);
    // A hard link to the previous backup's copy, or a copy a snapshot or receive left untouched: the same bytes,
    // and no new space.
    boolean linked =
        before != null
            && ((e.fileKey() != null && e.fileKey().equals(before.fileKey())) || untouchedCopy(file, prev));
    String reused = previous.digestOf(e.rel());
    if (reused != null && linked) {
      // A damaged copy keeps the digest first recorded, and no stamp: the next backup reads it again.
      return new Digest(reused, true, false, damaged.contains(e.rel()) ? null : stamp);
    }
    return new Digest(Digests.sha256(file), linked, true, stamp);
  }

  private static BasicFileAttributes attributes(Path p) {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * A file an incremental btrfs receive, or rsync into a snapshot of the previous backup, left untouched: the same
   * inode number in another subvolume (another st_dev), with the inode shared whole, change time included; a file
   * rewritten or changed in any way has a new change time (or a new inode).
   */
  private static boolean untouchedCopy(Path file, Path prev) {
    try {
      Map<String, Object> a = Files.readAttributes(file, "unix:ino,ctime,size", LinkOption.NOFOLLOW_LINKS);
      Map<String, Object> b = Files.readAttributes(prev, "unix:ino,ctime,size", LinkOption.NOFOLLOW_LINKS);
      return a.equals(b);
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /**
   * Regular files below {@code home} with their size and inode, sorted by relative path. Directories are listed
   * in parallel: a home of 100,000 files in 80,000 directories is mostly opendir and lstat calls, which wait on
   * the kernel rather than on a core.
   */
  private static List<Entry> entries(Path home, int threads) {
    if (!Files.isDirectory(home)) {
      return List.of();
    }
    java.util.Queue<Entry> found = new java.util.concurrent.ConcurrentLinkedQueue<>();
    try {
      Trees.forEachParallel(home, threads, (file, attrs) -> {
        if (attrs.isRegularFile()) {
          found.add(entry(home, home.relativize(file).toString(), file, attrs));
        }
      });
    } catch (java.io.UncheckedIOException e) {
      throw walkFailure(home, e);
    }
    List<Entry> out = new ArrayList<>(found);
    out.sort(java.util.Comparator.comparing(Entry::rel));
    return out;
  }

  /**
   * A regular file of the copy as the list names it; a {@link java.io.CharConversionException} when Java decoded its
   * name with replacement characters, so that {@code rel} names no file (see {@link #undecodable}).
   */
  static Entry entry(Path home, String rel, Path file, BasicFileAttributes attrs) throws java.io.CharConversionException {
    if (!home.resolve(rel).equals(file)) {
      throw new java.io.CharConversionException(undecodable(rel));
    }
    return new Entry(rel, attrs.size(), attrs.fileKey());
  }

  /** What a failed walk of the copy means: a name the list cannot hold, or a copy that cannot be read. */
  static SnapstashException walkFailure(Path home, java.io.UncheckedIOException e) {
    if (e.getCause() instanceof java.io.CharConversionException c) {
      return new SnapstashException(ErrorKind.CONFIG, "cannot checksum the copy of the home: " + c.getMessage(), e);
    }
    return SnapstashException.storage("cannot list " + home + ": " + e.getCause().getMessage(), e);
  }

  /**
   * A name Java decoded with replacement characters: the list could not name the file. Mostly a locale that is not
   * UTF-8 (cron and systemd start programs with none, and then Java decodes names as ASCII).
   */
  static String undecodable(String rel) {
    return "the name of " + rel + " is not valid in the JVM's file-name encoding ("
        + System.getProperty("sun.jnu.encoding") + "); run snapstash with LC_ALL=C.UTF-8 (the snapstash launcher"
        + " sets it when the locale is not UTF-8)";
  }

  /** Re-reads every file listed and compares; files added since are not an error (nothing writes backups). */
  public static Check verify(Path backupDir, int threads) {
    return verifyCopy(backupDir, backupDir.resolve("home"), java.util.Set.of(), threads);
  }

  /**
   * Compares the files of {@code copy} (a restored home) with the backup's list. Files the copy has in addition
   * are not an error (the restore adds its report and an embedded database); {@code skip} names listed files that
   * the restore removed on purpose (stale Git locks), relative to the home.
   */
  public static Check verifyCopy(Path backupDir, Path copy, java.util.Set<String> skip, int threads) {
    Path home = copy;
    Map<String, String> expected = new HashMap<>(read(backupDir));
    if (expected.isEmpty() && !Files.exists(backupDir.resolve(FILE))) {
      throw new SnapstashException(ErrorKind.VERIFICATION, "backup " + backupDir.getFileName() + " has no " + FILE);
    }
    expected.keySet().removeAll(skip);
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    List<String> mismatched = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    try {
      Map<String, Future<String>> actual = new HashMap<>();
      for (String rel : expected.keySet()) {
        Path f = home.resolve(rel);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
          missing.add(rel);
        } else {
          actual.put(rel, pool.submit(() -> Digests.sha256(f)));
        }
      }
      for (Map.Entry<String, Future<String>> e : actual.entrySet()) {
        if (!e.getValue().get().equals(expected.get(e.getKey()))) {
          mismatched.add(e.getKey());
        }
      }
    } catch (ExecutionException e) {
      throw SnapstashException.storage("cannot read a file of " + home + ": " + e.getCause().getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while verifying " + home, e);
    } finally {
      pool.shutdownNow();
    }
    mismatched.sort(null);
    missing.sort(null);
    return new Check(expected.size(), mismatched, missing);
  }

  /** One line as {@code sha256sum} writes it (see {@link ListLines}). */
  static String line(String sha256, String rel) {
    return ListLines.line(sha256, rel);
  }

  /** The digests listed for a backup, by path relative to its home; empty when there is no list. */
  static Map<String, String> read(Path backupDir) {
    DigestList list = DigestList.read(backupDir);
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i < list.size(); i++) {
      out.put(list.path(i), list.digest(i));
    }
    return out;
  }
}
