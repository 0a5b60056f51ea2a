package dev.snapstash.testing;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process umask, which the JDK cannot set, through libc. It is the JVM's, so it also reaches every thread and
 * every child process started meanwhile (rsync, pg_dump): what a backup started from a shell with that umask gets.
 * Tests set the usual 022 (or a stricter or looser one) and put the old one back when done.
 */
public final class Umask implements AutoCloseable {
  private static final Function UMASK = NativeLibrary.getInstance("c").getFunction("umask");

  private final int previous;

  private Umask(int mask) {
    this.previous = UMASK.invokeInt(new Object[] {mask});
  }

  /** Sets {@code mask} (e.g. {@code 022}) until closed. */
  public static Umask set(int mask) {
    return new Umask(mask);
  }

  @Override
  public void close() {
    UMASK.invokeInt(new Object[] {previous});
  }

  /** Whether this JVM runs as root: a file it creates is owned by uid 0. */
  public static boolean root(Path scratch) {
    try {
      Path probe = Files.createTempFile(scratch, "uid", "");
      try {
        return ((Integer) Files.getAttribute(probe, "unix:uid")) == 0;
      } finally {
        Files.delete(probe);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
