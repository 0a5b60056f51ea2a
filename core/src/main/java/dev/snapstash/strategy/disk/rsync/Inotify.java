package dev.snapstash.strategy.disk.rsync;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * One Linux inotify instance, called directly through JNA.
 *
 * <p>Why not the JDK's {@link java.nio.file.WatchService}: it hands every registration to its poller thread and
 * waits for the answer, two context switches per directory. On an idle two-core machine that was 2 of the 3 s it
 * took to watch a home of 80,766 directories, and far more under push load, where each switch waits for a core
 * (docs/performance.md). Here a watch is one {@code inotify_add_watch} system call made by the thread that walks
 * the home, and one queue carries every event in the order the kernel raised it.
 *
 * <p>Linux on a 64-bit (LP64) platform only: {@code size_t} is passed as a Java {@code long}.
 */
final class Inotify implements AutoCloseable {
  static final int IN_MODIFY = 0x2;
  static final int IN_ATTRIB = 0x4;
  static final int IN_MOVED_FROM = 0x40;
  static final int IN_MOVED_TO = 0x80;
  static final int IN_CREATE = 0x100;
  static final int IN_DELETE = 0x200;
  static final int IN_Q_OVERFLOW = 0x4000;
  static final int IN_IGNORED = 0x8000;
  static final int IN_ONLYDIR = 0x1000000;
  static final int IN_DONT_FOLLOW = 0x2000000;
  static final int IN_ISDIR = 0x40000000;

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

  /** The JVM's file-name charset, which Java's own paths are decoded with. */
  static final Charset NAMES = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));

  /** What {@link #read} hands over, one event at a time; {@code name} is "" for an event of the watched directory. */
  interface Sink {
    void event(int wd, int mask, String name);
  }

  private final int fd;
  /** Only the reading thread uses these. */
  private final Memory buffer = new Memory(64 * 1024);
  private final Memory pollFd = new Memory(8);
  private boolean closed;

  private Inotify(int fd) {
    this.fd = fd;
  }

  /** A new, non-blocking inotify instance; an {@link IOException} when the platform or JNA cannot give one. */
  static Inotify open() throws IOException {
    if (!Platform.isLinux() || Native.SIZE_T_SIZE != 8) {
      throw new IOException("inotify through JNA needs 64-bit Linux");
    }
    try {
      return new Inotify(LibC.inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    } catch (LastErrorException e) {
      throw new IOException("inotify_init1: " + e.getMessage(), e);
    } catch (LinkageError e) {
      // JNA's native part could not be loaded (a temporary directory mounted noexec, say).
      throw new IOException("cannot call into the C library: " + e.getMessage(), e);
    }
  }

  /**
   * Watches {@code dir} for the events of {@code mask} and returns the watch descriptor, which every event of this
   * directory carries. The same directory watched again (a rename during a walk) returns the same descriptor.
   */
  int watch(Path dir, int mask) throws IOException {
    String name = dir.toString();
    return watch(pathBytes(name), name, mask);
  }

  /** A path as the kernel needs it: its bytes in the JVM's file-name encoding, NUL-terminated. */
  static byte[] pathBytes(String path) throws IOException {
    requireNameable(path);
    byte[] bytes = path.getBytes(NAMES);
    return java.util.Arrays.copyOf(bytes, bytes.length + 1);
  }

  /** Refuses a path that Java decoded with replacement characters: the string no longer names the directory. */
  static void requireNameable(String path) throws IOException {
    if (path.indexOf('\uFFFD') >= 0) {
      throw new IOException("the name of " + path + " is not valid in the JVM's file-name encoding ("
          + NAMES + "), so it cannot be watched");
    }
  }

  /** {@link #watch(Path, int)} for a path already in bytes, NUL-terminated; {@code name} is for messages. */
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

  /**
   * Waits up to {@code timeoutMillis} for events, and hands every event queued by then to {@code sink}, in the
   * kernel's order. Only one thread may read.
   */
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

  /** Closes the instance, which removes every watch. Call it from the reading thread, or once it has stopped. */
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
