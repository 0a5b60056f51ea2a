package dev.snapstash.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Directories for fixtures that other users must be able to enter: PostgreSQL runs as the {@code postgres} user,
 * which cannot enter JUnit's {@code @TempDir} (mode 0700, owned by root). They live under {@code
 * /var/tmp/snapstash-tests}, each world-enterable (0711) but not listable.
 */
public final class TestDirs {
  private static final Path ROOT = Path.of(System.getProperty("snapstash.testDirs", "/var/tmp/snapstash-tests"));

  private TestDirs() {}

  /** A new, empty directory that any user may enter. */
  public static Path newEnterableDir(String prefix) {
    try {
      Files.createDirectories(ROOT);
      Files.setPosixFilePermissions(ROOT, PosixFilePermissions.fromString("rwx--x--x"));
    } catch (IOException e) {
      // Another user's test run created it; what matters is that we can create below it.
    }
    try {
      Path dir = Files.createTempDirectory(ROOT, prefix + "-");
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a test directory under " + ROOT, e);
    }
  }

  public static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
