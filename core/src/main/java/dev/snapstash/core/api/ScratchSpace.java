package dev.snapstash.core.api;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** Scratch space for {@code verify} and drills, where private database servers and restored copies go. */
final class ScratchSpace {
  private ScratchSpace() {}

  /** A working directory that the postgres system user can enter (PostgreSQL refuses to run as root). */
  static Path workDir() {
    try {
      Path base = Path.of("/var/tmp");
      Path dir = Files.createTempDirectory(Files.isDirectory(base) ? base : Path.of(System.getProperty("java.io.tmpdir")), "snapstash-scratch-");
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
      return dir;
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create a scratch directory under /var/tmp: " + e.getMessage(), e);
    }
  }
}
