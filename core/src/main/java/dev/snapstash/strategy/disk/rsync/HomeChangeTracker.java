package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.home.HomeIndex;
import dev.snapstash.core.util.Natives;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records which directories of the home change from before the pre-copy until the lock is drained, so that the
 * copy under the lock visits only those instead of walking the whole home (on a home of 100,000 files the walk
 * alone is most of the lock window; docs/performance.md).
 *
 * <p>It watches every directory with inotify (one instance, called directly where it can: {@link Inotify}), each one
 * <em>before</em> its entries are listed, and all of them before the pre-copy starts ({@link HomeWalk}); so every
 * change made after the pre-copy read a file is reported on the watch of the directory it was made in. One thread
 * reads the events ({@link InotifyLog}) into a record ({@link EventRecord}), which {@link ChangeAlgebra} folds into
 * two sets, {@link Changes#directories()} and {@link Changes#subtrees()}. Subtrees are not watched at all; the delta
 * copies them whole. That also covers what inotify gets wrong about renamed directories: a watch follows the
 * directory, but its events keep the name it was watched under, and every renamed directory appears at its new name
 * as a new subtree. Because nothing inside them is watched, a subtree stays in every later {@link #checkpoint} and
 * in the final {@link #collect}.
 *
 * <p>Whenever the record could be incomplete the tracker says so instead of guessing, and the caller walks the
 * whole home as before: an event queue overflow, a watch limit reached ({@code fs.inotify.max_user_watches}), a
 * home on a filesystem where inotify misses changes (NFS, CIFS, FUSE, cluster filesystems: writes by other hosts
 * raise no event; see {@link MountPolicy}), or the barrier event not arriving. Not seen by inotify at all, and so
 * not tracked: writes through {@code mmap} (Git and Bitbucket write with {@code write(2)}), and a filesystem mounted
 * inside the home while it is watched.
 */
final class HomeChangeTracker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HomeChangeTracker.class);

  /** Beyond this many directories with hard-linked files, comparing them all under the lock is a walk anyway. */
  static final int MAX_LINKED_DIRECTORIES = 2_000;

  private final Path home;
  private final HomeWalk walk;
  private final InotifyLog events;
  /** Which inotify and which listing this tracker took, and why. */
  private final List<Natives.Choice> paths;

  private HomeChangeTracker(Path home, HomeWalk walk, InotifyLog events, List<Natives.Choice> paths) {
    this.home = home;
    this.walk = walk;
    this.events = events;
    this.paths = paths;
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
    Optional<String> mount = MountPolicy.untrustedMount(home);
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
      HomeWalk walk = new HomeWalk(inotify, listing.listing(), skip, digest);
      tracker = new HomeChangeTracker(
          home,
          walk,
          new InotifyLog(inotify, home, skip, barrierDir, walk.watches()),
          List.of(inotify.choice(), Natives.took(listing.choice())));
    } catch (IOException e) {
      inotify.close();
      return Result.off("inotify is not available (" + e.getMessage() + ")");
    }
    try {
      tracker.events.start();
      tracker.walk.walk(home);
    } catch (RuntimeException | IOException e) {
      tracker.close();
      String why = e instanceof UncheckedIOException u ? u.getCause().getMessage() : e.getMessage();
      if (why != null && why.contains("inotify watches")) {
        why += "; raise the sysctl fs.inotify.max_user_watches above the number of directories in the home";
      }
      return Result.off("cannot watch the home: " + why);
    }
    Set<Path> linked = tracker.walk.linked();
    if (linked.size() > MAX_LINKED_DIRECTORIES) {
      tracker.close();
      return Result.off(linked.size() + " directories hold hard-linked files, and each delta would compare them all");
    }
    log.debug(
        "watching {} directories of {} for changes, {} of them with hard-linked files ({} ms)",
        tracker.walk.watched(), home, linked.size(), (System.nanoTime() - t0) / 1_000_000);
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
    Optional<EventRecord.Handed> handed = events.barrier(timeout);
    if (events.lost() == null && handed.isPresent()) {
      Set<Path> dirs = new HashSet<>(handed.get().directories());
      dirs.addAll(walk.linked());
      Changes changes = changes(home, dirs, handed.get().subtrees());
      if (!ChangeAlgebra.nameable(changes)) {
        events.lose("a changed directory's name is not valid in the JVM's file-name encoding ("
            + System.getProperty("sun.jnu.encoding") + "), so it cannot be named to rsync");
      } else {
        return Optional.of(changes);
      }
    }
    log.info("the change record is incomplete ({}); walking the whole home", events.lost());
    close();
    return Optional.empty();
  }

  /**
   * Every directory watched, relative to the home, with its digest (see {@link HomeWalk#digests()}). Empty unless
   * started with {@code digest}.
   */
  Map<String, HomeIndex.Dir> digests() {
    return walk.digests();
  }

  /** Stops reading events and removes every watch, without waiting for the kernel to finish (see {@link InotifyLog}). */
  @Override
  public void close() {
    events.close();
  }

  /** {@link ChangeAlgebra#fold} of absolute paths, asking the home which are still directories. */
  static Changes changes(Path home, Set<Path> directories, Set<Path> subtrees) {
    return ChangeAlgebra.fold(
        directories.stream().map(p -> relative(home, p)).toList(),
        subtrees.stream().map(p -> relative(home, p)).toList(),
        isDirectoryIn(home));
  }

  /**
   * The changes, with the home itself among the changed directories if its own inode changed since {@code since}
   * (its change time tells; see {@link ChangeAlgebra#withHome}).
   */
  static Changes withHome(Path home, Changes changes, Instant since) {
    if (changes.directories().contains("") || changes.subtrees().contains("")) {
      return changes;
    }
    boolean changed = true; // when it cannot tell: compare it
    try {
      FileTime ctime = (FileTime) Files.getAttribute(home, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
      changed = ctime.compareTo(FileTime.from(since)) >= 0;
    } catch (IOException | UnsupportedOperationException e) {
      // cannot tell: compare it
    }
    return ChangeAlgebra.withHome(changes, changed);
  }

  /** Both records together (see {@link ChangeAlgebra#merge}), asking the home which are still directories. */
  static Changes merge(Path home, Changes a, Changes b) {
    return ChangeAlgebra.merge(a, b, isDirectoryIn(home));
  }

  /** Whether a path relative to {@code root} is a directory there now, not following symbolic links. */
  static Predicate<String> isDirectoryIn(Path root) {
    return rel -> Files.isDirectory(root.resolve(rel), LinkOption.NOFOLLOW_LINKS);
  }

  private static String relative(Path home, Path p) {
    return home.relativize(p).toString();
  }
}
