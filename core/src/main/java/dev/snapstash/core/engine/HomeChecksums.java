package dev.snapstash.core.engine;

import dev.snapstash.core.util.Digests;
import dev.snapstash.core.util.ListLines;
import dev.snapstash.core.util.Trees;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.BufferedWriter;
import java.io.IOException;
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
import java.util.stream.Stream;

/**
 * SHA-256 of every file of a backed-up home, in {@code home.sha256} beside the {@code home/} directory, in the
 * format of {@code sha256sum} so an operator can check a backup by hand ({@code cd home && sha256sum -c
 * ../home.sha256}).
 *
 * <p>Computed after the unlock, so it costs no downtime. Incremental: a file hard-linked to the previous backup's
 * copy (same inode, so the same bytes) takes its digest from the previous list instead of being read again.
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

  /** One regular file of the copy, as the walk saw it; a {@code vouched} one was not looked at (see {@link Vouched}). */
  private record Entry(String rel, long size, Object fileKey, boolean vouched) {}

  /**
   * Directories whose files the walk need not look at: those with the same entry in this backup's {@link
   * HomeIndex} and the previous one's, which hold the same files, with the same sizes, as the previous backup's copy
   * (and on a btrfs backup root, the same blocks). Their digests come from the previous list.
   */
  private record Vouched(Map<String, Map<String, Boolean>> names, Map<String, HomeIndex.Dir> dirs) {
    static final Vouched NONE = new Vouched(Map.of(), Map.of());

    static Vouched of(Path backupDir, Optional<Path> previousBackupDir, Map<String, String> previousList) {
      if (previousBackupDir.isEmpty() || previousList.isEmpty()) {
        return NONE;
      }
      // Only indexes taken with the same excludes: a file excluded since is in the previous list, not in this copy.
      Optional<Map<String, HomeIndex.Dir>> now = HomeIndex.readLike(backupDir, previousBackupDir.get());
      Optional<Map<String, HomeIndex.Dir>> before =
          now.isEmpty() ? Optional.empty() : HomeIndex.readLike(previousBackupDir.get(), backupDir);
      if (before.isEmpty()) {
        return NONE;
      }
      Map<String, Map<String, Boolean>> listed = new HashMap<>();
      for (String rel : previousList.keySet()) {
        listed.computeIfAbsent(Trees.parentOf(rel), d -> new HashMap<>()).put(rel.substring(rel.lastIndexOf('/') + 1), true);
      }
      Map<String, Map<String, Boolean>> names = new HashMap<>();
      Map<String, HomeIndex.Dir> dirs = new HashMap<>();
      now.get().forEach((dir, d) -> {
        Map<String, Boolean> files = listed.get(dir);
        int count = files == null ? 0 : files.size();
        if (d.known() && d.equals(before.get().get(dir)) && count == d.files()) {
          names.put(dir, files == null ? new HashMap<>() : files);
          dirs.put(dir, d);
        }
      });
      // The subdirectories of a vouched directory are those it had when it was indexed, every one of which the index
      // lists: the directory is not even listed.
      for (String dir : now.get().keySet()) {
        if (!dir.isEmpty()) {
          Map<String, Boolean> entries = names.get(Trees.parentOf(dir));
          if (entries != null) {
            entries.put(dir.substring(dir.lastIndexOf('/') + 1), false);
          }
        }
      }
      return new Vouched(names, dirs);
    }

    /** All the entries of a vouched directory that the walk needs; null for a directory it must list. */
    Map<String, Boolean> of(String dir) {
      return names.get(dir);
    }

    /** Whether the walk met every vouched file: if not, the indexes do not describe this copy after all. */
    boolean metAll(List<Entry> files) {
      Map<String, Integer> met = new HashMap<>();
      for (Entry e : files) {
        if (e.vouched()) {
          met.merge(Trees.parentOf(e.rel()), 1, Integer::sum);
        }
      }
      for (Map.Entry<String, HomeIndex.Dir> d : dirs.entrySet()) {
        if (met.getOrDefault(d.getKey(), 0) != d.getValue().files()) {
          return false;
        }
      }
      return true;
    }

    long bytes() {
      return dirs.values().stream().mapToLong(HomeIndex.Dir::bytes).sum();
    }
  }

  /** What one file contributes: its digest, and whether it is the previous backup's inode (no new space). */
  private record Digest(String sha256, boolean linked, boolean hashed) {}

  /**
   * Writes {@code backupDir/home.sha256} for {@code backupDir/home}. One walk of the copy gives the list, the sizes
   * and each file's inode; the previous backup's file is looked at only where it has a digest to reuse.
   */
  public static Summary write(Path backupDir, Optional<Path> previousBackupDir, int threads) {
    Path home = backupDir.resolve("home");
    Map<String, String> previous = previousBackupDir.map(HomeChecksums::read).orElse(Map.of());
    Path prevHome = previousBackupDir.map(p -> p.resolve("home")).orElse(null);
    Vouched vouched = Vouched.of(backupDir, previousBackupDir, previous);
    List<Entry> files = vouched == Vouched.NONE ? null : vouchedEntries(home, threads, vouched);
    if (files == null) {
      vouched = Vouched.NONE;
      files = entries(home, threads, vouched);
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    try {
      List<Future<Digest>> digests = new ArrayList<>(files.size());
      for (Entry e : files) {
        // The reuse test is a stat call per file: on 100,000 files it is worth spreading over the pool too.
        digests.add(
            e.vouched()
                ? java.util.concurrent.CompletableFuture.completedFuture(new Digest(previous.get(e.rel()), true, false))
                : pool.submit(() -> digest(e, home, prevHome, previous)));
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
      long bytes = vouched.bytes();
      long unshared = 0;
      long hashed = 0;
      // Space written is counted per inode: a file with two names in the home is stored once, and a name linked
      // within the copy to another that is the previous backup's inode adds nothing either.
      Set<Object> counted = new HashSet<>();
      Path tmp = backupDir.resolve(FILE + ".tmp");
      try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        for (int i = 0; i < files.size(); i++) {
          Digest d = done.get(i);
          Entry e = files.get(i);
          bytes += e.size();
          Object key = e.fileKey();
          if (!d.linked() && (key == null || (!linkedInodes.contains(key) && counted.add(key)))) {
            unshared += e.size();
          }
          hashed += d.hashed() ? 1 : 0;
          w.write(line(d.sha256(), e.rel()));
        }
      }
      Files.move(tmp, backupDir.resolve(FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      long vouchedFiles = files.stream().filter(Entry::vouched).count();
      return new Summary(files.size(), bytes, unshared, hashed, vouchedFiles);
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
   * The walk with the indexes' help, or null when the copy turns out not to match them: a directory an index names
   * is not in the copy (one excluded by a pattern the change tracker cannot read, say), or the walk did not meet a
   * vouched file. The walk without them then says whether anything else is wrong.
   */
  private static List<Entry> vouchedEntries(Path home, int threads, Vouched vouched) {
    try {
      List<Entry> files = entries(home, threads, vouched);
      if (vouched.metAll(files)) {
        return files;
      }
      log.info("the copy does not match its {}; checksumming every file", HomeIndex.FILE);
    } catch (SnapstashException e) {
      log.info("the copy does not match its {} ({}); checksumming every file", HomeIndex.FILE, e.getMessage());
    }
    return null;
  }

  private static Digest digest(Entry e, Path home, Path prevHome, Map<String, String> previous) throws IOException {
    if (e.vouched()) {
      return new Digest(previous.get(e.rel()), true, false);
    }
    Path file = home.resolve(e.rel());
    Path prev = prevHome == null ? null : prevHome.resolve(e.rel());
    BasicFileAttributes before = prev == null ? null : attributes(prev);
    // A hard link to the previous backup's copy, or a copy a snapshot or receive left untouched: the same bytes,
    // and no new space.
    boolean linked =
        before != null
            && ((e.fileKey() != null && e.fileKey().equals(before.fileKey())) || untouchedCopy(file, prev));
    String reused = previous.get(e.rel());
    if (reused != null && linked) {
      return new Digest(reused, true, false);
    }
    return new Digest(Digests.sha256(file), linked, true);
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
  private static List<Entry> entries(Path home, int threads, Vouched vouched) {
    if (!Files.isDirectory(home)) {
      return List.of();
    }
    java.util.Queue<Entry> found = new java.util.concurrent.ConcurrentLinkedQueue<>();
    try {
      Trees.forEachParallel(home, threads, (file, attrs) -> {
        if (attrs == null) {
          found.add(new Entry(home.relativize(file).toString(), 0, null, true));
        } else if (attrs.isRegularFile()) {
          String rel = home.relativize(file).toString();
          if (!home.resolve(rel).equals(file)) {
            throw new java.io.CharConversionException(undecodable(rel));
          }
          found.add(new Entry(rel, attrs.size(), attrs.fileKey(), false));
        }
      }, dir -> vouched.of(home.relativize(dir).toString()));
    } catch (java.io.UncheckedIOException e) {
      if (e.getCause() instanceof java.io.CharConversionException c) {
        throw new SnapstashException(ErrorKind.CONFIG, "cannot checksum the copy of the home: " + c.getMessage(), e);
      }
      throw SnapstashException.storage("cannot list " + home + ": " + e.getCause().getMessage(), e);
    }
    List<Entry> out = new ArrayList<>(found);
    out.sort(java.util.Comparator.comparing(Entry::rel));
    return out;
  }

  /**
   * A name Java decoded with replacement characters: the list could not name the file. Mostly a locale that is not
   * UTF-8 (cron and systemd start programs with none, and then Java decodes names as ASCII).
   */
  private static String undecodable(String rel) {
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
    Path f = backupDir.resolve(FILE);
    Map<String, String> out = new HashMap<>();
    if (!Files.isRegularFile(f)) {
      return out;
    }
    try (Stream<String> lines = Files.lines(f, StandardCharsets.UTF_8)) {
      lines.forEach(l -> ListLines.parse(l, 64).ifPresent(e -> out.put(e.path(), e.hex())));
    } catch (IOException e) {
      throw SnapstashException.storage("cannot read " + f + ": " + e.getMessage(), e);
    }
    return out;
  }
}
