package dev.snapstash.core.util;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private directory (0700) for files that carry a secret to a tool (a {@code PGPASSFILE}, a MySQL {@code
 * --defaults-file}); each file is 0600 from its creation. Closing deletes everything.
 *
 * <p>The directory lives under the backup root, in {@value #DIR}, named after the process that made it: a process
 * killed before it could close it (SIGKILL, OOM, power loss) leaves a directory whose name says it is dead, and the
 * next run or {@code snapstash recover} removes it ({@link #sweep}). The name is the record, written in the same
 * instant as the directory, so no window exists in which a secret is on disk and nothing knows of it. Where the
 * backup root cannot hold it (a read-only copy being restored), the system's temporary directory does, as before.
 */
public final class PrivateFiles implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PrivateFiles.class);

  /** The directory under the backup root that holds every run's private directories. */
  public static final String DIR = ".snapstash-private";

  private static final Pattern NAME = Pattern.compile("[a-z0-9-]+-pid(\\d+)-[0-9a-f]+");
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path dir;

  private PrivateFiles(Path dir) {
    this.dir = dir;
  }

  /** A new private directory for this process under {@code backupRoot}'s {@value #DIR}. */
  public static PrivateFiles create(Path backupRoot, String prefix) {
    String name = prefix + "-pid" + ProcessHandle.current().pid() + "-" + Long.toHexString(RANDOM.nextLong() >>> 1);
    Path parent = backupRoot.resolve(DIR);
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        if (!Files.isDirectory(parent)) {
          Files.createDirectories(parent, owner("rwx------"));
        }
        return new PrivateFiles(Files.createDirectory(parent.resolve(name), owner("rwx------")));
      } catch (java.nio.file.NoSuchFileException e) {
        // Another process removed the emptied parent in between (see close): make it again.
      } catch (IOException | UnsupportedOperationException e) {
        log.debug("cannot make a private directory under {} ({}); using the temporary directory", backupRoot, e.getMessage());
        break;
      }
    }
    try {
      return new PrivateFiles(Files.createTempDirectory(name, owner("rwx------")));
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create a private temporary directory in " + System.getProperty("java.io.tmpdir") + ": " + e.getMessage(), e);
    }
  }

  /**
   * Removes what killed processes left under {@code backupRoot}'s {@value #DIR}: every directory whose process is
   * no longer alive. Directories of live processes (a restore beside a backup) are left alone. Best effort: a
   * failure is logged, never thrown, since it must not stop the run that sweeps.
   */
  public static int sweep(Path backupRoot) {
    Path parent = backupRoot.resolve(DIR);
    if (!Files.isDirectory(parent)) {
      return 0;
    }
    int removed = 0;
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent)) {
      for (Path d : dirs) {
        Matcher m = NAME.matcher(d.getFileName().toString());
        if (!m.matches()) {
          continue;
        }
        long pid = Long.parseLong(m.group(1));
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
          continue;
        }
        try {
          Trees.deleteRecursively(d);
          removed++;
          log.info("removed {}, left with its secret files by process {}, which is gone", d, pid);
        } catch (RuntimeException e) {
          log.warn("cannot remove {}, left by process {}: {}", d, pid, e.getMessage());
        }
      }
    } catch (IOException e) {
      log.warn("cannot list {}: {}", parent, e.getMessage());
    }
    removeIfEmpty(parent);
    return removed;
  }

  private static java.nio.file.attribute.FileAttribute<?> owner(String mode) {
    return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode));
  }

  /** Writes a file readable only by its owner. */
  public Path write(String name, String content) {
    Path f = dir.resolve(name);
    try {
      Files.createFile(f, owner("rw-------"));
      Files.writeString(f, content, StandardCharsets.UTF_8);
      return f;
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + f + ": " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  /** Deletes the directory, and {@value #DIR} too when nothing else is in it, so a clean run leaves no trace. */
  @Override
  public void close() {
    Trees.deleteRecursively(dir);
    removeIfEmpty(dir.getParent());
  }

  private static void removeIfEmpty(Path parent) {
    if (!parent.getFileName().toString().equals(DIR)) {
      return;
    }
    try {
      Files.deleteIfExists(parent);
    } catch (java.nio.file.DirectoryNotEmptyException e) {
      // Another process's secrets are in it.
    } catch (IOException e) {
      log.debug("cannot remove {}: {}", parent, e.getMessage());
    }
  }
}
