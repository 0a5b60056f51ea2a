package dev.snapstash.strategy.disk.rsync;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The record the tracker keeps of inotify's events between two barriers, as pure code: events in, read by read,
 * and after each read that held a barrier the changed directories and the new subtrees out. Used by the one thread
 * that reads the events ({@link InotifyLog}); only {@link #lost} is read by others.
 */
final class EventRecord {
  /**
   * What a barrier hands over, as absolute paths.
   *
   * @param directories the watched directories an event was raised in since the previous barrier
   * @param subtrees every directory made or renamed into a watched one since watching began (never cleared: see
   *     {@link #handOver})
   */
  record Handed(Set<Path> directories, Set<Path> subtrees) {}

  /** A directory made or renamed into a watched one, named by the watch's descriptor. */
  private record Created(int watch, String name) {}

  private final Path home;
  private final Predicate<String> skip;
  private final int barrierWatch;
  /** Since the last barrier, by watch descriptor: they are resolved to paths at a barrier. */
  private final Set<Integer> changedWatches = new HashSet<>();
  private final List<Created> created = new ArrayList<>();
  /** Never cleared: see {@link #handOver}. */
  private final Set<Path> subtrees = new HashSet<>();
  /** Barrier events taken in the current read, handed over at its {@link #endOfRead}. */
  private int barriersRead;
  private volatile String lost;

  /**
   * @param skip relative paths of directories never copied, which are no subtree when made
   * @param barrierWatch the descriptor of the barrier directory's watch
   */
  EventRecord(Path home, Predicate<String> skip, int barrierWatch) {
    this.home = home;
    this.skip = skip;
    this.barrierWatch = barrierWatch;
  }

  /**
   * Takes one event of the current read. A barrier file's creation is only counted: the record is handed over at
   * the read's {@link #endOfRead}, not at the barrier's own event, because only the native instance hands a read's
   * events over in the kernel's order; the JDK's watch service may hand an event raised before the barrier after
   * it, in the same read.
   */
  void event(int watch, int mask, String name) {
    if ((mask & Inotify.IN_Q_OVERFLOW) != 0) {
      // The kernel dropped events, of any directory: the record is no longer complete.
      lose("the inotify event queue overflowed (raise the sysctl fs.inotify.max_queued_events)");
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
   * Ends a read: one hand-over per barrier taken in it, every event raised before each barrier having been taken
   * by now (the same queue carries both). The first holds the whole read's events, including any that followed a
   * barrier, merely recorded early; the others hold no directory.
   *
   * @param watches each watched directory by its watch descriptor, the name it was watched under
   */
  List<Handed> endOfRead(Map<Integer, Path> watches) {
    List<Handed> handed = new ArrayList<>(barriersRead);
    for (; barriersRead > 0; barriersRead--) {
      handed.add(handOver(watches));
    }
    return handed;
  }

  /**
   * The record so far, resolved to paths. Every watch descriptor resolves, because the walk that placed the watches
   * ended before the first barrier; one that does not makes the record incomplete.
   */
  private Handed handOver(Map<Integer, Path> watches) {
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
      if (entry != null && !skip.test(home.relativize(entry).toString())) {
        subtrees.add(entry);
      }
    }
    changedWatches.clear();
    created.clear();
    // Subtrees are never cleared: nothing inside them is watched (and a renamed directory's watch reports under
    // its old name), so a change in one after this checkpoint raises no usable event. Each later delta copies
    // them whole again; they are few and small (new loose-object directories, mostly).
    return new Handed(dirs, new HashSet<>(subtrees));
  }

  /** Marks the record incomplete, keeping the first reason. */
  void lose(String why) {
    if (lost == null) {
      lost = why;
    }
  }

  /** Marks the record incomplete for this reason, whatever was said before. */
  void loseFor(String why) {
    lost = why;
  }

  /** Why the record is incomplete, or null while it is complete. */
  String lost() {
    return lost;
  }
}
