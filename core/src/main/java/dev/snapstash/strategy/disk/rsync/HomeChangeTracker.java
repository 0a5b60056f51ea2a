package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.home.HomeIndex;
import dev.snapstash.core.util.Natives;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records which directories of the home change from before the pre-copy until the lock is drained, so that the
 * copy under the lock visits only those instead of walking the whole home (on a home of 100,000 files the walk
 * alone is most of the lock window; docs/performance.md).
 *
 * <p>It watches every directory with inotify (one instance, called directly where it can: {@link Inotify}), each one
 * <em>before</em> its entries are listed, and all of them before the pre-copy starts; so every change made after
 * the pre-copy read a file is reported on the watch of the directory it was made in. Two sets come out:
 *
 * <ul>
 *   <li>{@link Changes#directories()}: directories whose entries were created, deleted, renamed, written or had
 *       their attributes changed. The delta copies their immediate contents ({@code rsync -d}) and deletes what
 *       is gone.
 *   <li>{@link Changes#subtrees()}: directories that appeared while watching (made, or renamed into place). These
 *       are not watched at all; the delta copies them whole ({@code rsync -r}). That also covers what inotify gets
 *       wrong about renamed directories: a watch follows the directory, but its events keep the name it was
 *       watched under, and every renamed directory appears at its new name as a new subtree. Because nothing inside them is
 *       watched, a subtree stays in every later {@link #checkpoint} and in the final {@link #collect}.
 * </ul>
 *
 * <p>Whenever the record could be incomplete the tracker says so instead of guessing, and the caller walks the
 * whole home as before: an event queue overflow, a watch limit reached ({@code fs.inotify.max_user_watches}), a
 * home on a filesystem where inotify misses changes (NFS, CIFS, FUSE, cluster filesystems: writes by other hosts
 * raise no event; see {@link #untrustedMount}), or the barrier event not arriving. Not seen by inotify at all, and
 * so not tracked: writes through {@code mmap} (Git and Bitbucket write with {@code write(2)}), and a filesystem
 * mounted inside the home while it is watched.
 */
final class HomeChangeTracker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HomeChangeTracker.class);

  /** Local filesystems whose every change is made on this host, through this kernel, and so raises an event. */
  static final Set<String> LOCAL_FILESYSTEMS =
      Set.of("ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "zfs", "f2fs", "bcachefs", "reiserfs", "jfs", "overlay");

  /**
   * Entries made, renamed in or out, deleted, written, or with changed attributes (mode, owner, times, extended
   * attributes, links). Never through a symbolic link: a directory replaced by one between the listing and the
   * watch is gone, and its parent's watch saw it go.
   */
  private static final int EVENTS = Inotify.IN_CREATE | Inotify.IN_MOVED_TO | Inotify.IN_DELETE
      | Inotify.IN_MOVED_FROM | Inotify.IN_MODIFY | Inotify.IN_ATTRIB | Inotify.IN_ONLYDIR | Inotify.IN_DONT_FOLLOW;

  /** What changed, as paths relative to the home ("" is the home itself), sorted, with no subtree inside another. */
  record Changes(SortedSet<String> directories, SortedSet<String> subtrees) {
    boolean isEmpty() {
      return directories.isEmpty() && subtrees.isEmpty();
    }

    @Override
    public String toString() {
      return directories.size() + " changed directories, " + subtrees.size() + " new subtrees";
    }
  }

  /**
   * Threads walking the home: most of a directory's time is the kernel's (watch, opendir, lstat), so more threads
   * than cores keep the cores busy.
   */
  static final int WALKERS = 4;

  /** Beyond this many directories with hard-linked files, comparing them all under the lock is a walk anyway. */
  static final int MAX_LINKED_DIRECTORIES = 2_000;

  private final Path home;
  private final Predicate<String> skip;
  private final Path barrierDir;
  private final Inotify inotify;
  private final Listing listing;
  /** Which inotify and which listing this tracker took, and why. */
  private final List<Natives.Choice> paths;
  private final int barrierWatch;
  /** Each watched directory by its watch descriptor: the name it was watched under. */
  private final Map<Integer, Path> watches = new ConcurrentHashMap<>();
  private final AtomicInteger watched = new AtomicInteger();
  /**
   * Directories holding a file with another hard link. A write or chmod through one name is reported only in the
   * directory of that name, so each delta compares all of them, and rsync's {@code -H} sees every name together.
   */
  private final Set<Path> linked = ConcurrentHashMap.newKeySet();
  /** What the consumer hands over at each barrier: the changed directories and the subtrees. */
  private final BlockingQueue<Set<Path>[]> handoff = new LinkedBlockingQueue<>();
  private final Thread consumer;
  private volatile boolean stopping;
  /** The consumer's record since the last barrier, by watch descriptor: they are resolved to paths at a barrier. */
  private final Set<Integer> changedWatches = new HashSet<>();
  private final List<Created> created = new ArrayList<>();
  /** Barrier events read in the current {@link Inotify#read}, handed over once it returns. */
  private int barriersRead;
  /** Never cleared: see {@link #handOver}. */
  private final Set<Path> subtrees = new HashSet<>();
  private int barriers;
  private volatile String lost;
  /** Whether the walk also takes each directory's {@link #digests}. */
  private final boolean digest;
  /** See {@link #digests()}. */
  private final Map<String, HomeIndex.Dir> digests = new ConcurrentHashMap<>();
  /** Change times from here on are too recent for a digest to vouch for (epoch nanoseconds). */
  private final long racyFrom;

  /** A directory made or renamed into a watched one, named by the watch's descriptor. */
  private record Created(int watch, String name) {}

  private HomeChangeTracker(
      Path home, Predicate<String> skip, Path barrierDir, boolean digest, Inotify inotify, Listing.Chosen listing)
      throws IOException {
    this.home = home;
    this.skip = skip;
    this.barrierDir = barrierDir;
    this.digest = digest;
    this.inotify = inotify;
    this.listing = listing.listing();
    this.paths = List.of(inotify.choice(), Natives.took(listing.choice()));
    // The barrier directory is watched by the same instance as the home, so a barrier file's event reaches the
    // queue behind every event raised before it.
    this.barrierWatch = inotify.watch(barrierDir, Inotify.IN_CREATE | Inotify.IN_ONLYDIR);
    this.consumer = new Thread(this::consume, "home-change-tracker");
    consumer.setDaemon(true);
    // The kernel stamps change times from a coarse clock, which may lag this one: a second of margin.
    Instant racy = Instant.now().minusSeconds(1);
    this.racyFrom = racy.getEpochSecond() * 1_000_000_000L + racy.getNano();
  }

  /**
   * Starts watching {@code home}, skipping directories that {@code skip} names (relative paths of excluded
   * directories, never copied), and returns once every directory is watched; or explains why it cannot track.
   *
   * @param barrierDir an empty directory of ours, outside the home, where {@link #checkpoint} and {@link #collect}
   *     drop their barrier files; nothing else may be written there
   */
  static Result start(Path home, Predicate<String> skip, Path barrierDir) {
    return start(home, skip, barrierDir, false);
  }

  /**
   * Starts watching, and with {@code digest} also takes the {@link #digests()} of every directory watched.
   */
  static Result start(Path home, Predicate<String> skip, Path barrierDir, boolean digest) {
    return start(home, skip, barrierDir, digest, Natives.forcedOff());
  }

  /**
   * Starts watching with the native inotify and listing, or, when {@code nativeOff} says why not (see {@link
   * Natives}), with their Java fallbacks.
   */
  static Result start(Path home, Predicate<String> skip, Path barrierDir, boolean digest, Optional<String> nativeOff) {
    Optional<String> mount = untrustedMount(home);
    if (mount.isPresent()) {
      return Result.off(mount.get());
    }
    Inotify inotify;
    try {
      inotify = Inotify.open(nativeOff);
    } catch (IOException e) {
      return Result.off("inotify is not available (" + e.getMessage() + ")");
    }
    return start(home, skip, barrierDir, digest, inotify, Listing.choose(nativeOff));
  }

  /** Starts watching through {@code inotify}, which the tracker then owns, and lists through {@code listing}. */
  static Result start(
      Path home, Predicate<String> skip, Path barrierDir, boolean digest, Inotify inotify, Listing.Chosen listing) {
    long t0 = System.nanoTime();
    HomeChangeTracker tracker;
    try {
      tracker = new HomeChangeTracker(home, skip, barrierDir, digest, inotify, listing);
    } catch (IOException e) {
      inotify.close();
      return Result.off("inotify is not available (" + e.getMessage() + ")");
    }
    try {
      tracker.consumer.start();
      String shown = home.toString();
      byte[] path = Inotify.pathBytes(shown);
      ForkJoinPool pool = new ForkJoinPool(WALKERS);
      try {
        pool.invoke(tracker.new Register(home, path, "", tracker.listing.lstat(path, shown)));
      } finally {
        pool.shutdown();
      }
    } catch (RuntimeException | IOException e) {
      tracker.close();
      String why = e instanceof UncheckedIOException u ? u.getCause().getMessage() : e.getMessage();
      if (why != null && why.contains("inotify watches")) {
        why += "; raise the sysctl fs.inotify.max_user_watches above the number of directories in the home";
      }
      return Result.off("cannot watch the home: " + why);
    }
    if (tracker.linked.size() > MAX_LINKED_DIRECTORIES) {
      tracker.close();
      return Result.off(
          tracker.linked.size() + " directories hold hard-linked files, and each delta would compare them all");
    }
    log.debug(
        "watching {} directories of {} for changes, {} of them with hard-linked files ({} ms)",
        tracker.watched.get(), home, tracker.linked.size(), (System.nanoTime() - t0) / 1_000_000);
    return new Result(Optional.of(tracker), "");
  }

  /** Which inotify and which listing this tracker took, and why. */
  List<Natives.Choice> paths() {
    return paths;
  }

  /** A started tracker, or the reason there is none (logged by the caller). */
  record Result(Optional<HomeChangeTracker> tracker, String whyNot) {
    static Result off(String why) {
      return new Result(Optional.empty(), why);
    }
  }

  /**
   * Everything that changed since the start or the previous checkpoint, and goes on watching: the copy of these
   * changes made now, while the instance is live, leaves only what changes from now on for the lock. Empty when
   * the record may be incomplete (the tracker is then of no further use).
   */
  Optional<Changes> checkpoint(Duration timeout) {
    return barrier(timeout);
  }

  /**
   * Everything that changed since the start or the last checkpoint. Call it once the instance is drained: a
   * barrier file made now goes through the same inotify queue as the home's events, so once it is seen every
   * earlier change has been read. Empty when the record may be incomplete. {@link #close} the tracker after the
   * unlock: closing removes every watch, which on 80,000 directories is hundreds of milliseconds that need not be
   * spent under the lock.
   */
  Optional<Changes> collect(Duration timeout) {
    return barrier(timeout);
  }

  private Optional<Changes> barrier(Duration timeout) {
    Set<Path> dirs = new HashSet<>();
    Set<Path> trees = new HashSet<>();
    boolean complete = false;
    try {
      // Empty, but in the backup root like everything snapstash writes there: its owner's only.
      Files.createFile(
          barrierDir.resolve("barrier-" + ++barriers),
          java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
              java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
      Set<Path>[] sets = handoff.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
      if (sets != null) {
        dirs.addAll(sets[0]);
        trees.addAll(sets[1]);
        complete = true;
      }
      if (!complete && lost == null) {
        lost = "the change tracker did not see its own barrier within " + timeout.toSeconds() + " s";
      }
    } catch (IOException e) {
      lost = "cannot write the change tracker's barrier: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      lost = "interrupted";
    }
    if (lost == null && complete) {
      dirs.addAll(linked);
      Changes changes = changes(home, dirs, trees);
      if (!nameable(changes)) {
        lost = "a changed directory's name is not valid in the JVM's file-name encoding ("
            + System.getProperty("sun.jnu.encoding") + "), so it cannot be named to rsync";
      } else {
        return Optional.of(changes);
      }
    }
    log.info("the change record is incomplete ({}); walking the whole home", lost);
    close();
    return Optional.empty();
  }

  /**
   * Whether every path can be handed to rsync by name. Java decodes file names with the locale's charset: bytes
   * that are not valid there (a Latin-1 name under UTF-8, anything beyond ASCII under LANG=C) become U+FFFD, and
   * such a path names no file.
   */
  static boolean nameable(Changes changes) {
    return java.util.stream.Stream.concat(changes.directories().stream(), changes.subtrees().stream())
        .noneMatch(p -> p.indexOf('\uFFFD') >= 0);
  }

  /**
   * Stops the consumer, which then closes the inotify instance and so removes every watch. Does not wait for it:
   * the kernel takes about 0.1 s idle to remove 80,000 watches, which what follows the unlock (the checksums) need
   * not wait for.
   */
  @Override
  public void close() {
    stopping = true;
    if (consumer.getState() == Thread.State.NEW) {
      inotify.close();
    }
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

  /**
   * Every directory watched, relative to the home, with a SHA-256 of its own attributes and its entries' names and
   * attributes (type and mode, links, inode, owner, size, modification and change times), or {@link #UNKNOWN}.
   * Taken after the directory's watch was placed, so a change after the digest is in the change record, and a
   * change before it is in the digest: any write, rename, chmod, chown or xattr change sets the change time of
   * the inode it touches, and no call sets it back. Equal digests therefore mean unchanged entries. Empty unless
   * started with {@code digest}. Each comes with the number and total size of the directory's regular files.
   */
  Map<String, HomeIndex.Dir> digests() {
    return digests;
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

  /**
   * The consumer thread: turns events into the two sets, and at each barrier hands them over and starts new ones.
   * Runs until {@link #close}, then closes the inotify instance (no other thread reads it, so none can be left
   * reading a closed descriptor).
   */
  private void consume() {
    try {
      while (!stopping) {
        inotify.read(100, this::record);
        // After the read, not at the barrier's own event: only the native instance hands a read's events over in
        // the kernel's order, and an event of this read that followed the barrier is merely recorded early.
        for (; barriersRead > 0; barriersRead--) {
          handOver();
        }
      }
    } catch (IOException | RuntimeException e) {
      if (lost == null) {
        lost = "change tracker failed: " + e.getMessage();
      }
    } finally {
      inotify.close();
    }
  }

  private void record(int watch, int mask, String name) {
    if ((mask & Inotify.IN_Q_OVERFLOW) != 0) {
      // The kernel dropped events, of any directory: the record is no longer complete.
      if (lost == null) {
        lost = "the inotify event queue overflowed (raise the sysctl fs.inotify.max_queued_events)";
      }
    } else if ((mask & Inotify.IN_IGNORED) != 0) {
      // A watch gone with its directory, which its parent's watch saw go.
    } else if (watch == barrierWatch) {
      if ((mask & Inotify.IN_CREATE) != 0) {
        barriersRead++;
      }
    } else {
      changedWatches.add(watch);
      if ((mask & Inotify.IN_ISDIR) != 0 && (mask & (Inotify.IN_CREATE | Inotify.IN_MOVED_TO)) != 0) {
        created.add(new Created(watch, name));
      }
    }
  }

  /**
   * At a barrier, every event raised before it has been recorded: the record so far, resolved to paths. Every
   * watch descriptor resolves, because the walk that placed the watches ended before the first barrier.
   */
  private void handOver() {
    Set<Path> dirs = new HashSet<>();
    for (int watch : changedWatches) {
      Path dir = watches.get(watch);
      if (dir == null) {
        lost = "an event came from a watch the tracker did not place";
        continue;
      }
      dirs.add(dir);
    }
    for (Created c : created) {
      Path dir = watches.get(c.watch());
      Path entry = dir == null ? null : dir.resolve(c.name());
      // A directory never copied (Git's push quarantine comes and goes with every push) is no subtree, but making
      // it still changed its parent.
      if (entry != null && !skip.test(relative(home, entry))) {
        subtrees.add(entry);
      }
    }
    changedWatches.clear();
    created.clear();
    // Subtrees are never cleared: nothing inside them is watched (and a renamed directory's watch reports under
    // its old name), so a change in one after this checkpoint raises no usable event. Each later delta copies
    // them whole again; they are few and small (new loose-object directories, mostly).
    @SuppressWarnings("unchecked")
    Set<Path>[] sets = new Set[] {dirs, new HashSet<>(subtrees)};
    handoff.add(sets);
  }

  /**
   * Relative, sorted sets as the delta needs them: subtrees nested in another subtree are dropped, as are
   * directories inside a subtree; paths that no longer exist are dropped too (their parent changed, and the delta
   * of the parent deletes them from the copy).
   */
  static Changes changes(Path home, Set<Path> directories, Set<Path> subtrees) {
    TreeSet<String> trees = new TreeSet<>();
    for (Path p : subtrees) {
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        trees.add(relative(home, p));
      }
    }
    TreeSet<String> outer = new TreeSet<>();
    for (String t : trees) {
      if (!Trees.insideAny(t, outer)) {
        outer.add(t);
      }
    }
    TreeSet<String> dirs = new TreeSet<>();
    for (Path p : directories) {
      String rel = relative(home, p);
      if (!Trees.insideAny(rel, outer) && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        dirs.add(rel);
      }
    }
    return new Changes(dirs, outer);
  }

  /**
   * The changes, with the home itself among the changed directories if its own inode changed since {@code since}
   * (its change time tells). inotify reports a directory's mode, owner, time or attribute change only to the watch
   * of its parent, and the home's parent is not watched.
   */
  static Changes withHome(Path home, Changes changes, Instant since) {
    if (changes.directories().contains("") || changes.subtrees().contains("")) {
      return changes;
    }
    try {
      FileTime changed = (FileTime) Files.getAttribute(home, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
      if (changed.compareTo(FileTime.from(since)) < 0) {
        return changes;
      }
    } catch (IOException | UnsupportedOperationException e) {
      // cannot tell: compare it
    }
    TreeSet<String> dirs = new TreeSet<>(changes.directories());
    dirs.add("");
    return new Changes(dirs, changes.subtrees());
  }

  /** Both records together, as one delta must copy them (the live catch-up's, when it could not finish). */
  static Changes merge(Path home, Changes a, Changes b) {
    Set<Path> dirs = new HashSet<>();
    Set<Path> trees = new HashSet<>();
    for (Changes c : List.of(a, b)) {
      c.directories().forEach(d -> dirs.add(home.resolve(d)));
      c.subtrees().forEach(t -> trees.add(home.resolve(t)));
    }
    return changes(home, dirs, trees);
  }

  private static String relative(Path home, Path p) {
    return home.relativize(p).toString();
  }

  /** The kernel's limit on watches per user, which caps the directories a home may have to be tracked. */
  static Optional<Long> watchLimit() {
    try {
      // Line by line: Files.readString reads only "1" of "192536" from this sysctl file (a size-0 proc file).
      List<String> lines = Files.readAllLines(Path.of("/proc/sys/fs/inotify/max_user_watches"));
      return lines.isEmpty() ? Optional.empty() : Optional.of(Long.parseLong(lines.get(0).strip()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Why the home cannot be tracked from this host, from /proc/self/mountinfo; empty if it can. */
  static Optional<String> untrustedMount(Path home) {
    try {
      return untrustedMount(String.join("\n", Files.readAllLines(Path.of("/proc/self/mountinfo"))), home.toRealPath());
    } catch (IOException e) {
      return Optional.of("cannot read the mount table (" + e.getMessage() + ")");
    }
  }

  /**
   * The mount holding {@code home} and every mount inside it must be a local filesystem: on a network or cluster
   * filesystem another host's writes raise no inotify event here (a Bitbucket Data Center shared home on NFS).
   */
  static Optional<String> untrustedMount(String mountinfo, Path home) {
    String homePath = home.toString();
    String containing = null;
    String containingType = null;
    for (String line : mountinfo.split("\n")) {
      // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
      String[] f = line.split(" ");
      int dash = List.of(f).indexOf("-");
      if (f.length < 5 || dash < 0 || dash + 1 >= f.length) {
        continue;
      }
      String mountPoint = unescape(f[4]);
      String type = f[dash + 1];
      if (isUnder(homePath, mountPoint)) {
        if (containing == null || mountPoint.length() >= containing.length()) {
          containing = mountPoint;
          containingType = type;
        }
      } else if (isUnder(mountPoint, homePath) && !LOCAL_FILESYSTEMS.contains(type)) {
        return Optional.of(mountPoint + " inside the home is " + type + ", where inotify does not see every change");
      }
    }
    if (containingType == null) {
      return Optional.of("no mount holds " + homePath);
    }
    if (!LOCAL_FILESYSTEMS.contains(containingType)) {
      return Optional.of("the home is on " + containingType + ", where inotify does not see every change");
    }
    return Optional.empty();
  }

  private static boolean isUnder(String path, String dir) {
    return path.equals(dir) || dir.equals("/") || path.startsWith(dir + "/");
  }

  private static final Pattern OCTAL = Pattern.compile("\\\\([0-7]{3})");

  private static String unescape(String s) {
    return OCTAL.matcher(s).replaceAll(m -> String.valueOf((char) Integer.parseInt(m.group(1), 8)));
  }
}
