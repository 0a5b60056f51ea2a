package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * Only one snapstash run per backup root. An exclusive OS file lock (released by the kernel if the process dies,
 * so a crash never leaves a stale guard) on {@code <root>/.snapstash.lock}, which also holds the holder's pid and
 * start time for the message a second run prints.
 */
public final class RunGuard implements AutoCloseable {
  public static final String FILE = ".snapstash.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private RunGuard(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  public static RunGuard acquire(Path root, String operation) {
    Path file = root.resolve(FILE);
    FileChannel ch = null;
    try {
      Files.createDirectories(root);
      ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock l;
      try {
        l = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        l = null;
      }
      if (l == null) {
        String holder = Files.readString(file, StandardCharsets.UTF_8).strip();
        ch.close();
        throw new SnapstashException(
            ErrorKind.BUSY,
            "another snapstash run holds " + root + " (" + (holder.isEmpty() ? "unknown holder" : holder)
                + "); wait for it to finish");
      }
      ch.truncate(0);
      ch.write(
          ByteBuffer.wrap(
              (operation + " pid " + ProcessHandle.current().pid() + ", started " + Instant.now())
                  .getBytes(StandardCharsets.UTF_8)));
      ch.force(false);
      return new RunGuard(ch, l);
    } catch (IOException e) {
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException ignored) {
          // already failing
        }
      }
      throw SnapstashException.storage("cannot lock " + file + " (is backup.root writable?): " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      channel.truncate(0);
      lock.release();
      channel.close();
    } catch (IOException e) {
      // The kernel drops the lock with the descriptor anyway.
    }
  }
}
