package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.home.HomeIndex;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * The tracker's walk of the home: watches every directory <em>before</em> its entries are listed, so every change
 * made after the listing is reported on the watch of the directory it was made in; notes the directories that hold
 * hard-linked files; and, when asked, takes each directory's {@link #digests}. Several threads, since most of a
 * directory's time is the kernel's (watch, opendir, lstat). Lists through the C library or, where that does not
 * load or the switch is off, through {@code java.nio} ({@link Listing}): the same entries and digests either way.
 */
final class HomeWalk {
  /**
   * Entries made, renamed in or out, deleted, written, or with changed attributes (mode, owner, times, extended
   * attributes, links). Never through a symbolic link: a directory replaced by one between the listing and the
   * watch is gone, and its parent's watch saw it go.
   */
  private static final int EVENTS = Inotify.IN_CREATE | Inotify.IN_MOVED_TO | Inotify.IN_DELETE
      | Inotify.IN_MOVED_FROM | Inotify.IN_MODIFY | Inotify.IN_ATTRIB | Inotify.IN_ONLYDIR | Inotify.IN_DONT_FOLLOW;

  /** Threads walking the home: more than cores keep the cores busy while each waits on the kernel. */
  static final int WALKERS = 4;

  private final Inotify inotify;
  private final Listing listing;
  private final Predicate<String> skip;
  /** Whether the walk also takes each directory's {@link #digests}. */
  private final boolean digest;
  /** Change times from here on are too recent for a digest to vouch for (epoch nanoseconds). */
  private final long racyFrom;
  /** Each watched directory by its watch descriptor: the name it was watched under. */
  private final Map<Integer, Path> watches = new ConcurrentHashMap<>();
  private final AtomicInteger watched = new AtomicInteger();
  /**
   * Directories holding a file with another hard link. A write or chmod through one name is reported only in the
   * directory of that name, so each delta compares all of them, and rsync's {@code -H} sees every name together.
   */
  private final Set<Path> linked = ConcurrentHashMap.newKeySet();
  /** See {@link #digests()}. */
  private final Map<String, HomeIndex.Dir> digests = new ConcurrentHashMap<>();

  HomeWalk(Inotify inotify, Listing listing, Predicate<String> skip, boolean digest) {
    this.inotify = inotify;
    this.listing = listing;
    this.skip = skip;
    this.digest = digest;
    // The kernel stamps change times from a coarse clock, which may lag this one: a second of margin.
    Instant racy = Instant.now().minusSeconds(1);
    this.racyFrom = racy.getEpochSecond() * 1_000_000_000L + racy.getNano();
  }

  /** Watches and lists every directory of {@code home} that {@code skip} does not name; returns when all are. */
  void walk(Path home) throws IOException {
    String shown = home.toString();
    byte[] path = Inotify.pathBytes(shown);
    ForkJoinPool pool = new ForkJoinPool(WALKERS);
    try {
      pool.invoke(new Register(home, path, "", listing.lstat(path, shown)));
    } finally {
      pool.shutdown();
    }
  }

  /** Each watched directory by its watch descriptor, for the events to be resolved against. */
  Map<Integer, Path> watches() {
    return watches;
  }

  int watched() {
    return watched.get();
  }

  Set<Path> linked() {
    return linked;
  }

  /**
   * Every directory watched, relative to the home, with a SHA-256 of its own attributes and its entries' names and
   * attributes (type and mode, links, inode, owner, size, modification and change times), or {@link
   * HomeIndex#UNKNOWN}. Taken after the directory's watch was placed, so a change after the digest is in the change
   * record, and a change before it is in the digest: any write, rename, chmod, chown or xattr change sets the change
   * time of the inode it touches, and no call sets it back. Equal digests therefore mean unchanged entries. Empty
   * unless walked with {@code digest}. Each comes with the number and total size of the directory's regular files.
   */
  Map<String, HomeIndex.Dir> digests() {
    return digests;
  }

  /** {@code parent/name}, NUL-terminated, from the parent's NUL-terminated bytes. */
  private static byte[] childBytes(byte[] parent, byte[] name) {
    byte[] child = new byte[parent.length + name.length + 1];
    System.arraycopy(parent, 0, child, 0, parent.length - 1);
    child[parent.length - 1] = '/';
    System.arraycopy(name, 0, child, parent.length, name.length);
    return child;
  }

  /** A name as Java decodes it; plain ASCII, by far the most common in a home, without a charset decoder. */
  private static String decode(byte[] name) {
    return new String(name, ascii(name) ? java.nio.charset.StandardCharsets.ISO_8859_1 : Inotify.NAMES);
  }

  private static boolean ascii(byte[] name) {
    for (byte b : name) {
      if (b < 0) {
        return false;
      }
    }
    return true;
  }

  /** Watches a directory, then lists it and does the same for each subdirectory, in parallel. */
  private final class Register extends RecursiveAction {
    private final Path dir;
    /** {@link #dir} as the kernel gets it, NUL-terminated. */
    private final byte[] path;
    private final String relative;
    /** The directory's own attributes, as its parent's listing read them. */
    private final Listing.Stat own;

    Register(Path dir, byte[] path, String relative, Listing.Stat own) {
      this.dir = dir;
      this.path = path;
      this.relative = relative;
      this.own = own;
    }

    @Override
    protected void compute() {
      List<Listing.Entry> entries;
      try {
        String shown = dir.toString();
        Inotify.requireNameable(shown);
        watches.put(inotify.watch(path, shown, EVENTS), dir);
        watched.incrementAndGet();
        entries = listing.list(path, shown);
      } catch (NoSuchFileException | NotDirectoryException gone) {
        return; // removed while we walked: its parent's watch saw it go
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (entries == null) {
        return; // the same, found by the listing
      }
      List<Register> children = new ArrayList<>();
      for (Listing.Entry entry : entries) {
        int type = entry.stat().type();
        if (type == Listing.S_IFDIR) {
          String name = decode(entry.name());
          String rel = relative.isEmpty() ? name : relative + "/" + name;
          if (!skip.test(rel)) {
            children.add(new Register(dir.resolve(name), childBytes(path, entry.name()), rel, entry.stat()));
          }
        } else if (type == Listing.S_IFREG && entry.stat().nlink() > 1) {
          linked.add(dir);
        }
      }
      if (digest) {
        digests.put(relative, digestOf(relative, own, entries));
      }
      invokeAll(children);
    }
  }

  private HomeIndex.Dir digestOf(String relative, Listing.Stat own, List<Listing.Entry> entries) {
    if (relative.indexOf('\uFFFD') >= 0) {
      return HomeIndex.UNKNOWN;
    }
    entries.sort((x, y) -> java.util.Arrays.compareUnsigned(x.name(), y.name()));
    DigestInput in = DIGEST_INPUT.get();
    in.reset();
    if (!in.line(DOT, own, racyFrom)) {
      return HomeIndex.UNKNOWN;
    }
    long files = 0;
    long bytes = 0;
    for (Listing.Entry e : entries) {
      byte[] name = digestName(e.name());
      if (name == null || !in.line(name, e.stat(), racyFrom)) {
        return HomeIndex.UNKNOWN;
      }
      if (e.stat().type() == Listing.S_IFREG) {
        files++;
        bytes += e.stat().size();
      }
    }
    return new HomeIndex.Dir(in.sha256(), files, bytes);
  }

  private static final byte[] DOT = {'.'};

  /**
   * A name as a digest has it: UTF-8 of the name as Java decodes it, which for a valid UTF-8 (or ASCII) name are
   * its own bytes; null for a name Java cannot decode (it would not name the file to rsync).
   */
  private static byte[] digestName(byte[] name) {
    if (ascii(name)) {
      return name;
    }
    String decoded = decode(name);
    return decoded.indexOf('\uFFFD') >= 0 ? null : decoded.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static final ThreadLocal<DigestInput> DIGEST_INPUT = ThreadLocal.withInitial(DigestInput::new);

  /**
   * What a directory's digest is taken over, one line per entry, written as bytes: {@code name NUL mode nlink ino
   * uid gid size mtime ctime LF}, in decimal, times in nanoseconds. The same text the digests had when they were
   * built as strings, so indexes written by earlier versions still compare equal.
   */
  private static final class DigestInput {
    private byte[] buf = new byte[8192];
    private int len;

    void reset() {
      len = 0;
    }

    /** Appends an entry's line; false when its change time is too recent to vouch for. */
    boolean line(byte[] name, Listing.Stat a, long racyFrom) {
      if (a.ctimeNanos() >= racyFrom) {
        return false;
      }
      ensure(name.length + 9 * 21);
      System.arraycopy(name, 0, buf, len, name.length);
      len += name.length;
      buf[len++] = 0;
      long[] fields = {a.mode(), a.nlink(), a.ino(), a.uid(), a.gid(), a.size(), a.mtimeNanos(), a.ctimeNanos()};
      for (int i = 0; i < fields.length; i++) {
        if (i > 0) {
          buf[len++] = ' ';
        }
        decimal(fields[i]);
      }
      buf[len++] = '\n';
      return true;
    }

    String sha256() {
      return dev.snapstash.core.util.Digests.sha256(buf, 0, len);
    }

    /** As {@link Long#toString(long)} writes it (at most 20 characters). */
    private void decimal(long v) {
      if (v == Long.MIN_VALUE) {
        byte[] s = Long.toString(v).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(s, 0, buf, len, s.length);
        len += s.length;
        return;
      }
      if (v < 0) {
        buf[len++] = '-';
        v = -v;
      }
      int start = len;
      do {
        buf[len++] = (byte) ('0' + v % 10);
        v /= 10;
      } while (v != 0);
      for (int i = start, j = len - 1; i < j; i++, j--) {
        byte t = buf[i];
        buf[i] = buf[j];
        buf[j] = t;
      }
    }

    private void ensure(int more) {
      if (len + more > buf.length) {
        buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
      }
    }
  }
}
