package dev.snapstash.strategy.disk.rsync;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * One Linux inotify instance, called directly through JNA: the {@link Inotify} a tracker takes where it can.
 *
 * <p>Why not the JDK's {@link java.nio.file.WatchService}: it hands every registration to its poller thread and
 * waits for the answer, two context switches per directory. On an idle two-core machine that was 2 of the 3 s it
 * took to watch a home of 80,766 directories, and far more under push load, where each switch waits for a core
 * (docs/performance.md). Here a watch is one {@code inotify_add_watch} system call made by the thread that walks
 * the home, and one queue carries every event in the order the kernel raised it.
 *
 * <p>Linux on a 64-bit (LP64) platform only: {@code size_t} is passed as a Java {@code long}.
 */
final class NativeInotify extends Inotify {
  /** O_NONBLOCK and O_CLOEXEC as x86-64 and arm64 define them. */
  private static final int IN_NONBLOCK = 04000;
  private static final int IN_CLOEXEC = 02000000;
  private static final short POLLIN = 1;
  private static final int EINTR = 4;
  private static final int EAGAIN = 11;
  private static final int EACCES = 13;
  private static final int ENOENT = 2;
  private static final int ENOTDIR = 20;
  private static final int ENOSPC = 28;
  /** struct inotify_event: int wd, uint32 mask, uint32 cookie, uint32 len, then len bytes of NUL-padded name. */
  private static final int EVENT_HEADER = 16;

  private final int fd;
  /** Only the reading thread uses these. */
  private final Memory buffer = new Memory(64 * 1024);
  private final Memory pollFd = new Memory(8);
  private boolean closed;

  private NativeInotify(int fd) {
    this.fd = fd;
  }

  /** A new, non-blocking inotify instance; an {@link IOException} when the platform or JNA cannot give one. */
  static NativeInotify open() throws IOException {
    if (!Platform.isLinux() || Native.SIZE_T_SIZE != 8) {
      throw new IOException("inotify through JNA needs 64-bit Linux");
    }
    try {
      return new NativeInotify(LibC.inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    } catch (LastErrorException e) {
      throw new IOException("inotify_init1: " + e.getMessage(), e);
    } catch (LinkageError e) {
      // JNA's native part could not be loaded (a temporary directory mounted noexec, say).
      throw new IOException("cannot call into the C library: " + e.getMessage(), e);
    }
  }

  @Override
  int watch(byte[] path, String name, int mask) throws IOException {
    try {
      return LibC.inotify_add_watch(fd, path, mask);
    } catch (LastErrorException e) {
      throw switch (e.getErrorCode()) {
        case ENOENT -> new NoSuchFileException(name);
        case ENOTDIR -> new NotDirectoryException(name);
        case EACCES -> new AccessDeniedException(name);
        case ENOSPC -> new IOException("the user limit of inotify watches is reached");
        default -> new IOException("inotify_add_watch " + name + ": " + e.getMessage(), e);
      };
    }
  }

  /** Hands over at most one buffer of events (64 KiB), in the kernel's order. */
  @Override
  void read(int timeoutMillis, Sink sink) throws IOException {
    pollFd.setInt(0, fd);
    pollFd.setShort(4, POLLIN);
    pollFd.setShort(6, (short) 0);
    try {
      if (LibC.poll(pollFd, 1, timeoutMillis) <= 0) {
        return;
      }
      long n = LibC.read(fd, buffer, buffer.size());
      for (long off = 0; off + EVENT_HEADER <= n; ) {
        int wd = buffer.getInt(off);
        int mask = buffer.getInt(off + 4);
        int len = buffer.getInt(off + 12);
        sink.event(wd, mask, name(off + EVENT_HEADER, len));
        off += EVENT_HEADER + len;
      }
    } catch (LastErrorException e) {
      if (e.getErrorCode() != EINTR && e.getErrorCode() != EAGAIN) {
        throw new IOException("reading inotify events: " + e.getMessage(), e);
      }
    }
  }

  private String name(long off, int len) {
    int end = 0;
    while (end < len && buffer.getByte(off + end) != 0) {
      end++;
    }
    return end == 0 ? "" : new String(buffer.getByteArray(off, end), NAMES);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      try {
        LibC.close(fd);
      } catch (LastErrorException e) {
        // nothing to do: the descriptor is gone either way
      }
    }
  }

  /** The C library's calls, bound once by JNA's direct mapping (no reflection per call). */
  private static final class LibC {
    static {
      Native.register(Platform.C_LIBRARY_NAME);
    }

    static native int inotify_init1(int flags) throws LastErrorException;

    static native int inotify_add_watch(int fd, byte[] path, int mask) throws LastErrorException;

    static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    static native long read(int fd, Pointer buf, long count) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;
  }
}
