package dev.snapstash.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Directories for fixtures that other users must be able to enter: PostgreSQL runs as the {@code postgres} user,
 * which cannot enter JUnit's {@code @TempDir} (mode 0700, owned by root). They live under {@code
 * /var/tmp/snapstash-tests}, each world-enterable (0711) but not listable.
 */
public final class TestDirs {
  private static final String OWNER_FILE = "owner.pid";
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
      Files.writeString(dir.resolve(OWNER_FILE), ownerStamp(ProcessHandle.current()));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a test directory under " + ROOT, e);
    }
  }

  /**
   * The directories under the test root whose owning JVM is gone (killed before its clean-up ran), so that a
   * fixture can stop what they left running and delete them.
   */
  public static List<Path> orphans() {
    if (!Files.isDirectory(ROOT)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(ROOT)) {
      return s.filter(Files::isDirectory).filter(TestDirs::ownerGone).toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  private static boolean ownerGone(Path dir) {
    try {
      String[] stamp = Files.readString(dir.resolve(OWNER_FILE)).strip().split(" ");
      Optional<ProcessHandle> owner = ProcessHandle.of(Long.parseLong(stamp[0]));
      return owner.isEmpty() || !ownerStamp(owner.get()).strip().equals(String.join(" ", stamp));
    } catch (IOException | RuntimeException e) {
      // No stamp: being created right now, or not ours. Leave it.
      return false;
    }
  }

  private static String ownerStamp(ProcessHandle p) {
    return p.pid() + " " + p.info().startInstant().map(i -> Long.toString(i.toEpochMilli())).orElse("?") + "\n";
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
