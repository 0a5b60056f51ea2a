package dev.snapstash.strategy.disk.rsync;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Lists a directory and lstat's each entry relative to it, through the C library (JNA, direct mapping): one
 * {@code open}, a {@code readdir} per entry and a {@code statx} per entry, named by the directory's descriptor.
 *
 * <p>Why not {@link java.nio.file.Files#readAttributes(java.nio.file.Path, String,
 * java.nio.file.LinkOption...)}: the change tracker's walk lstat's every entry of the home (187,551 on the benchmark
 * home), and with the {@code unix:} attribute view each call parses the attribute names, fills a map of boxed
 * values, and resolves the whole path in the kernel again. Profiled under {@code perf}, that Java side was twice
 * the kernel's time of the walk, and its compilation a good part of what the JIT spent per backup
 * (docs/performance.md). Here an entry is two calls and one small record.
 *
 * <p>Linux on a 64-bit (LP64) platform only, like {@link Inotify}: {@code struct statx} and {@code struct dirent64}
 * have the same layout on every such architecture.
 */
final class NativeListing implements Listing {
  private static final NativeListing INSTANCE = new NativeListing();

  private NativeListing() {}

  private static final int O_RDONLY = 0;
  /** O_RDONLY, O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC, whose values differ between x86-64 and arm64. */
  private static final int OPEN_FLAGS = openFlags();
  private static final int AT_FDCWD = -100;
  private static final int AT_SYMLINK_NOFOLLOW = 0x100;
  private static final int AT_NO_AUTOMOUNT = 0x800;
  /** STATX_TYPE, MODE, NLINK, UID, GID, MTIME, CTIME, INO, SIZE: what a digest covers. */
  private static final int STATX_WANTED = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200;
  private static final int ENOENT = 2;
  private static final int ENOTDIR = 20;
  private static final int ELOOP = 40;
  /**
   * struct dirent on LP64 glibc and musl: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, then the NUL-terminated
   * name.
   */
  private static final int DIRENT_RECLEN = 16;
  private static final int DIRENT_NAME = 19;

  /** One buffer per walking thread for statx's answer (struct statx is 256 bytes). */
  private static final ThreadLocal<Memory> STATX = ThreadLocal.withInitial(() -> new Memory(256));

  /** The listing, once the C library is found to have every call used here; an {@link IOException} says why not. */
  static NativeListing load() throws IOException {
    if (!Platform.isLinux() || Native.SIZE_T_SIZE != 8 || !(Platform.isIntel() || Platform.isARM())) {
      throw new IOException("listing directories through JNA needs Linux on x86-64 or arm64");
    }
    try {
      Class.forName(LibC.class.getName(), true, NativeListing.class.getClassLoader());
    } catch (LinkageError | ClassNotFoundException e) {
      throw new IOException("cannot call into the C library: " + e.getMessage(), e);
    }
    return INSTANCE;
  }

  @Override
  public Stat lstat(byte[] path, String shown) throws IOException {
    Memory buf = STATX.get();
    try {
      LibC.statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_WANTED, buf);
    } catch (LastErrorException e) {
      throw error("lstat", shown, e);
    }
    return stat(buf, shown);
  }

  @Override
  public List<Entry> list(byte[] dir, String shown) throws IOException {
    int fd;
    try {
      fd = LibC.open(dir, OPEN_FLAGS);
    } catch (LastErrorException e) {
      int errno = e.getErrorCode();
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
        return null;
      }
      throw error("open", shown, e);
    }
    Pointer stream;
    try {
      stream = LibC.fdopendir(fd);
    } catch (LastErrorException e) {
      closeQuietly(fd);
      throw error("fdopendir", shown, e);
    }
    Memory buf = STATX.get();
    List<Entry> entries = new ArrayList<>();
    try {
      Pointer d;
      while ((d = LibC.readdir(stream)) != null) {
        int reclen = d.getShort(DIRENT_RECLEN) & 0xffff;
        byte[] name = name(d, reclen);
        if (isDotOrDotDot(name)) {
          continue;
        }
        try {
          LibC.statx(fd, d.share(DIRENT_NAME), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_WANTED, buf);
        } catch (LastErrorException e) {
          if (e.getErrorCode() == ENOENT) {
            continue; // removed since it was listed: the directory's watch saw it go
          }
          throw error("lstat", shown + "/" + new String(name, Inotify.NAMES), e);
        }
        entries.add(new Entry(name, stat(buf, shown)));
      }
    } catch (LastErrorException e) {
      throw error("readdir", shown, e);
    } finally {
      try {
        LibC.closedir(stream); // closes fd too
      } catch (LastErrorException e) {
        // nothing to do: the descriptor is released either way
      }
    }
    return entries;
  }

  private static Stat stat(Memory buf, String shown) throws IOException {
    int mask = buf.getInt(0);
    if ((mask & STATX_WANTED) != STATX_WANTED) {
      throw new IOException("the filesystem of " + shown + " does not report every attribute a digest needs");
    }
    return new Stat(
        buf.getShort(28) & 0xffff,
        buf.getInt(16),
        buf.getLong(32),
        buf.getInt(20),
        buf.getInt(24),
        buf.getLong(40),
        nanos(buf, 112),
        nanos(buf, 96));
  }

  /** struct statx_timestamp: s64 seconds, u32 nanoseconds; as Java's FileTime.to(NANOSECONDS) gives it. */
  private static long nanos(Memory buf, long offset) {
    return buf.getLong(offset) * 1_000_000_000L + (buf.getInt(offset + 8) & 0xffffffffL);
  }

  private static byte[] name(Pointer d, int reclen) {
    byte[] raw = d.getByteArray(DIRENT_NAME, reclen - DIRENT_NAME);
    int end = 0;
    while (end < raw.length && raw[end] != 0) {
      end++;
    }
    return end == raw.length ? raw : java.util.Arrays.copyOf(raw, end);
  }

  private static boolean isDotOrDotDot(byte[] name) {
    return (name.length == 1 && name[0] == '.') || (name.length == 2 && name[0] == '.' && name[1] == '.');
  }

  private static IOException error(String call, String shown, LastErrorException e) {
    return new IOException(call + " " + shown + ": " + e.getMessage(), e);
  }

  private static void closeQuietly(int fd) {
    try {
      LibC.close(fd);
    } catch (LastErrorException e) {
      // nothing to do
    }
  }

  private static int openFlags() {
    // O_DIRECTORY and O_NOFOLLOW are 040000 and 0100000 on arm64, 0200000 and 0400000 on x86-64.
    boolean arm = Platform.isARM();
    int directory = arm ? 040000 : 0200000;
    int noFollow = arm ? 0100000 : 0400000;
    return O_RDONLY | directory | noFollow | 02000000;
  }

  /** The C library's calls, bound once by JNA's direct mapping. */
  private static final class LibC {
    static {
      Native.register(Platform.C_LIBRARY_NAME);
    }

    static native int open(byte[] path, int flags) throws LastErrorException;

    static native Pointer fdopendir(int fd) throws LastErrorException;

    static native Pointer readdir(Pointer dir) throws LastErrorException;

    static native int closedir(Pointer dir) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int statx(int dirfd, byte[] path, int flags, int mask, Pointer buf) throws LastErrorException;

    static native int statx(int dirfd, Pointer path, int flags, int mask, Pointer buf) throws LastErrorException;
  }
}
