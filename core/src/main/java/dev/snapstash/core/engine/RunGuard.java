package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.util.FileModes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * Only one snapstash run per backup root. An exclusive OS file lock (released by the kernel if the process dies,
 * so a crash never leaves a stale guard) on {@code <root>/.snapstash.lock}, which also holds the holder's pid and
 * start time for the message a second run prints. The file is its owner's only (0600), whatever {@code
 * backup.group} says: it is no backup, and nobody else has anything to do with it.
 */
public final class RunGuard implements AutoCloseable {
  public static final String FILE = ".snapstash.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private RunGuard(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** Holds the store's root, creating it with the store's modes if it is missing. */
  public static RunGuard acquire(BackupStore store, String operation) {
    return acquire(store.root(), store.modes(), operation);
  }

  /** Holds {@code root}, creating it readable by its owner only if it is missing. */
  public static RunGuard acquire(Path root, String operation) {
    return acquire(root, FileModes.ownerOnly(), operation);
  }

  private static RunGuard acquire(Path root, FileModes modes, String operation) {
    Path file = root.resolve(FILE);
    FileChannel ch = null;
    try {
      modes.createDirectories(root);
      // Not following a link: whoever could plant one here must not get this process to truncate its target.
      ch =
          FileModes.ownerOnly()
              .open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
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
