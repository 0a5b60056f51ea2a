package dev.snapstash.core.engine;

import dev.snapstash.core.util.Digests;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
  public static final String FILE = "home.sha256";

  private HomeChecksums() {}

  /** What a verification found. */
  public record Check(long files, List<String> mismatched, List<String> missing) {
    public boolean ok() {
      return mismatched.isEmpty() && missing.isEmpty();
    }
  }

  /**
   * Writes {@code backupDir/home.sha256} for {@code backupDir/home}; returns the number of files hashed afresh.
   */
  public static long write(Path backupDir, Optional<Path> previousBackupDir, int threads) {
    Path home = backupDir.resolve("home");
    Map<String, String> previous = previousBackupDir.map(HomeChecksums::read).orElse(Map.of());
    Path prevHome = previousBackupDir.map(p -> p.resolve("home")).orElse(null);
    List<String> files = regularFiles(home);
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    try {
      List<Future<String>> digests = new ArrayList<>(files.size());
      java.util.concurrent.atomic.AtomicLong fresh = new java.util.concurrent.atomic.AtomicLong();
      for (String rel : files) {
        // The reuse test is two stat calls per file: on 100,000 files it is worth spreading over the pool too.
        digests.add(
            pool.submit(
                () -> {
                  String reused = reusable(rel, home, prevHome, previous);
                  if (reused != null) {
                    return reused;
                  }
                  fresh.incrementAndGet();
                  return Digests.sha256(home.resolve(rel));
                }));
      }
      Path tmp = backupDir.resolve(FILE + ".tmp");
      try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        for (int i = 0; i < files.size(); i++) {
          w.write(digests.get(i).get());
          w.write("  ./");
          w.write(files.get(i));
          w.write('\n');
        }
      }
      Files.move(tmp, backupDir.resolve(FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return fresh.get();
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

  /** The digests listed for a backup, by path relative to its home; empty when there is no list. */
  static Map<String, String> read(Path backupDir) {
    Path f = backupDir.resolve(FILE);
    Map<String, String> out = new HashMap<>();
    if (!Files.isRegularFile(f)) {
      return out;
    }
    try (Stream<String> lines = Files.lines(f, StandardCharsets.UTF_8)) {
      lines.forEach(
          l -> {
            int sep = l.indexOf("  ./");
            if (sep == 64) {
              out.put(l.substring(sep + 4), l.substring(0, 64));
            }
          });
    } catch (IOException e) {
      throw SnapstashException.storage("cannot read " + f + ": " + e.getMessage(), e);
    }
    return out;
  }

  private static String reusable(String rel, Path home, Path prevHome, Map<String, String> previous) {
    String digest = previous.get(rel);
    if (digest == null) {
      return null;
    }
    try {
      Map<String, Object> a = Files.readAttributes(home.resolve(rel), "unix:ino,dev,ctime,size", LinkOption.NOFOLLOW_LINKS);
      Map<String, Object> b = Files.readAttributes(prevHome.resolve(rel), "unix:ino,dev,ctime,size", LinkOption.NOFOLLOW_LINKS);
      if (!a.get("ino").equals(b.get("ino"))) {
        return null;
      }
      // A hard link (rsync --link-dest): the same inode of the same filesystem. A file an incremental btrfs
      // receive left untouched: the same inode number in another subvolume (another st_dev), with the inode
      // copied whole, change time included; a file the stream rewrote got a new change time.
      boolean sameInode = a.get("dev").equals(b.get("dev"));
      boolean untouchedCopy = a.get("ctime").equals(b.get("ctime")) && a.get("size").equals(b.get("size"));
      return sameInode || untouchedCopy ? digest : null;
    } catch (IOException | UnsupportedOperationException e) {
      return null;
    }
  }

  /** Regular files below {@code home}, relative, '/'-separated, sorted (a stable list diffs well). */
  static List<String> regularFiles(Path home) {
    if (!Files.isDirectory(home)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(home)) {
      return s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
          .map(p -> home.relativize(p).toString())
          .sorted()
          .toList();
    } catch (IOException e) {
      throw SnapstashException.storage("cannot list " + home + ": " + e.getMessage(), e);
    }
  }

}
