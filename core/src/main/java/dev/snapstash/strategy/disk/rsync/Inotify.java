package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.util.Natives;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.Optional;

/**
 * One Linux inotify instance: the C library's, through JNA ({@link NativeInotify}), where it loads and {@link
 * Natives} allows it; else the JDK's {@link java.nio.file.WatchService} ({@link WatchServiceInotify}), the same
 * kernel facility behind a poller thread, slower to place watches but with the same events.
 *
 * <p>What {@link #read} guarantees, on which the change tracker's barrier rests: every event raised before an event
 * that a call hands over is handed over by the same call or an earlier one. Within one call, only the native
 * instance keeps the kernel's order.
 */
abstract class Inotify implements AutoCloseable {
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

  /** The JVM's file-name charset, which Java's own paths are decoded with. */
  static final Charset NAMES = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));

  /** What {@link #read} hands over, one event at a time; {@code name} is "" for an event of the watched directory. */
  interface Sink {
    void event(int wd, int mask, String name);
  }

  /** Which path this instance took, and why. */
  private Natives.Choice choice;

  Natives.Choice choice() {
    return choice;
  }

  /** A new instance, the native one unless the switch or the platform says no; logs the choice once. */
  static Inotify open() throws IOException {
    return open(Natives.forcedOff());
  }

  /**
   * A new instance: the native one unless {@code off} says why not (the switch), or it cannot be opened; then the
   * JDK's. An {@link IOException} when neither can be opened.
   */
  static Inotify open(Optional<String> off) throws IOException {
    Inotify inotify;
    Natives.Choice choice;
    if (off.isPresent()) {
      inotify = WatchServiceInotify.open();
      choice = new Natives.Choice("inotify", false, WatchServiceInotify.NAME, off.get());
    } else {
      Optional<Inotify> direct;
      String why = "";
      try {
        direct = Optional.of(NativeInotify.open());
      } catch (IOException e) {
        direct = Optional.empty();
        why = "native inotify did not open: " + e.getMessage();
      }
      if (direct.isPresent()) {
        inotify = direct.get();
        choice = new Natives.Choice("inotify", true, "native", "inotify_init1 and inotify_add_watch through JNA");
      } else {
        inotify = WatchServiceInotify.open();
        choice = new Natives.Choice("inotify", false, WatchServiceInotify.NAME, why);
      }
    }
    inotify.choice = Natives.took(choice);
    return inotify;
  }

  /**
   * Watches {@code dir} for the events of {@code mask} and returns the watch descriptor, which every event of this
   * directory carries. The same directory watched again (a rename during a walk) returns the same descriptor.
   */
  int watch(Path dir, int mask) throws IOException {
    String name = dir.toString();
    return watch(pathBytes(name), name, mask);
  }

  /**
   * {@link #watch(Path, int)} for a path already in bytes, NUL-terminated; {@code name} is the same path as Java
   * names it. A directory that is gone is a {@link java.nio.file.NoSuchFileException}, one that is no longer a
   * directory a {@link java.nio.file.NotDirectoryException}.
   */
  abstract int watch(byte[] path, String name, int mask) throws IOException;

  /**
   * Waits up to {@code timeoutMillis} for events, and hands what is queued by then to {@code sink} (see the class
   * comment for the order). Only one thread may read.
   */
  abstract void read(int timeoutMillis, Sink sink) throws IOException;

  /** Closes the instance, which removes every watch. Call it from the reading thread, or once it has stopped. */
  @Override
  public abstract void close();

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
}
