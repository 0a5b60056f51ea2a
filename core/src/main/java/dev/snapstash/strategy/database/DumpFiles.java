package dev.snapstash.strategy.database;

import dev.snapstash.core.util.Digests;
import dev.snapstash.core.util.FileModes;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Artifact;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * Checksums of what a database strategy wrote. Each strategy lists its dump files as {@link Artifact}s for the
 * manifest and also writes them to {@value #CHECKSUMS} in its database directory ({@code sha256sum -c}
 * format), so that {@code verify} can check a dump with nothing but the backup directory.
 */
public final class DumpFiles {
  /** The checksum file in the database directory, one {@code <sha256>  <path relative to it>} line per file. */
  public static final String CHECKSUMS = "SHA256SUMS";

  private DumpFiles() {}

  /**
   * Artifacts for every regular file below {@code root} (a file or a directory), sorted by path, hashed with up to
   * {@code threads} threads.
   *
   * @param backupDir the backup directory the artifact paths are relative to
   */
  public static List<Artifact> artifacts(Path backupDir, Path root, int threads) {
    List<Path> files;
    try (Stream<Path> s = Files.walk(root)) {
      files = s.filter(Files::isRegularFile).sorted(Comparator.comparing(Path::toString)).toList();
    } catch (IOException e) {
      throw SnapstashException.storage("cannot list " + root + ": " + e.getMessage(), e);
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(threads, files.size())), r -> {
      Thread t = new Thread(r, "sha256");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<Artifact>> futures = new ArrayList<>();
      for (Path f : files) {
        futures.add(pool.submit(() -> new Artifact(relative(backupDir, f), Files.size(f), Digests.sha256(f))));
      }
      List<Artifact> out = new ArrayList<>();
      for (Future<Artifact> fu : futures) {
        out.add(fu.get());
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(dev.snapstash.core.error.ErrorKind.INTERRUPTED, "interrupted while computing checksums of " + root, e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      throw SnapstashException.storage("cannot read " + root + " to checksum it: " + c.getMessage(), c);
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Writes {@value #CHECKSUMS} into {@code databaseDir} for the given artifacts, and gives everything in the
   * directory {@code modes}: the dump tools write their files with the umask's modes (0644 as a rule).
   */
  public static void writeChecksums(FileModes modes, Path backupDir, Path databaseDir, List<Artifact> artifacts) {
    StringBuilder b = new StringBuilder();
    for (Artifact a : artifacts) {
      b.append(a.sha256()).append("  ").append(relative(databaseDir, backupDir.resolve(a.path()))).append('\n');
    }
    try {
      modes.writeString(databaseDir.resolve(CHECKSUMS), b);
      modes.applyTree(databaseDir, p -> false);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + databaseDir.resolve(CHECKSUMS) + ": " + e.getMessage(), e);
    }
  }

  /**
   * Checks every file listed in {@value #CHECKSUMS}; returns one line per problem (missing list, missing file,
   * size or checksum mismatch), empty when all match.
   */
  public static List<String> verifyChecksums(Path databaseDir) {
    Path list = databaseDir.resolve(CHECKSUMS);
    List<String> problems = new ArrayList<>();
    Map<String, String> expected = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(list, StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        int sp = line.indexOf("  ");
        if (sp != 64) {
          problems.add(list + " has a malformed line: " + line);
          continue;
        }
        expected.put(line.substring(66), line.substring(0, 64));
      }
    } catch (IOException e) {
      problems.add("cannot read the checksum list " + list + " (" + e.getClass().getSimpleName() + ")");
      return problems;
    }
    if (expected.isEmpty()) {
      problems.add(list + " lists no files");
    }
    for (Map.Entry<String, String> e : expected.entrySet()) {
      Path f = databaseDir.resolve(e.getKey()).normalize();
      if (!f.startsWith(databaseDir.normalize())) {
        problems.add(list + " names a file outside " + databaseDir + ": " + e.getKey());
        continue;
      }
      if (!Files.isRegularFile(f)) {
        problems.add(f + " is missing");
        continue;
      }
      try {
        String actual = Digests.sha256(f);
        if (!actual.equals(e.getValue())) {
          problems.add(f + " does not match its checksum (damaged or truncated)");
        }
      } catch (IOException ex) {
        problems.add("cannot read " + f + " (" + ex.getMessage() + ")");
      }
    }
    return problems;
  }

  public static long totalBytes(List<Artifact> artifacts) {
    return artifacts.stream().mapToLong(Artifact::bytes).sum();
  }

  /** Deletes a file or directory tree; nothing if it does not exist. */
  public static void deleteRecursively(Path root) {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      throw SnapstashException.storage("cannot delete " + root + ": " + e.getMessage(), e);
    }
  }

  public static void createDirectories(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Creates a backup's database directory (and any missing parent) with {@code modes}. */
  public static void createDirectories(FileModes modes, Path dir) {
    try {
      modes.createDirectories(dir);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  private static String relative(Path base, Path file) {
    return base.relativize(file).toString().replace('\\', '/');
  }
}
