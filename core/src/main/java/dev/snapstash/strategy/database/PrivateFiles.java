package dev.snapstash.strategy.database;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A private temporary directory (0700) for files that carry a secret to a tool (a {@code PGPASSFILE}, a MySQL
 * {@code --defaults-file}); each file is 0600 from its creation. Closing deletes everything.
 */
public final class PrivateFiles implements AutoCloseable {
  private final Path dir;

  private PrivateFiles(Path dir) {
    this.dir = dir;
  }

  public static PrivateFiles create(String prefix) {
    try {
      return new PrivateFiles(Files.createTempDirectory(prefix, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))));
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create a private temporary directory in " + System.getProperty("java.io.tmpdir") + ": " + e.getMessage(), e);
    }
  }

  /** Writes a file readable only by its owner. */
  public Path write(String name, String content) {
    Path f = dir.resolve(name);
    try {
      Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(f, content, StandardCharsets.UTF_8);
      return f;
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + f + ": " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  @Override
  public void close() {
    DumpFiles.deleteRecursively(dir);
  }
}
