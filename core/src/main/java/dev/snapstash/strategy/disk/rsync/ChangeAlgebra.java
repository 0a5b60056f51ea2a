package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.util.Trees;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * How change records combine, as pure functions of relative paths: what the tracker hands over, what a delta must
 * copy when a live catch-up left work behind, and when a record is of no use. The one question about the disk
 * (whether a path is still a directory) is asked through the predicate the caller passes, so these can be checked
 * on random input (ChangeAlgebraPropertiesTest).
 */
final class ChangeAlgebra {
  private ChangeAlgebra() {}

  /**
   * Relative, sorted sets as the delta needs them: subtrees nested in another subtree are dropped, as are
   * directories inside a subtree; paths that are no longer directories are dropped too (their parent changed, and
   * the delta of the parent deletes them from the copy).
   *
   * @param isDirectory whether a relative path is a directory of the home now (not following symbolic links)
   */
  static Changes fold(Collection<String> directories, Collection<String> subtrees, Predicate<String> isDirectory) {
    TreeSet<String> trees = new TreeSet<>();
    for (String t : subtrees) {
      if (isDirectory.test(t)) {
        trees.add(t);
      }
    }
    // Sorted, a subtree's ancestors come before it: an outer subtree is always kept before its inner ones are seen.
    TreeSet<String> outer = new TreeSet<>();
    for (String t : trees) {
      if (!Trees.insideAny(t, outer)) {
        outer.add(t);
      }
    }
    TreeSet<String> dirs = new TreeSet<>();
    for (String d : directories) {
      if (!Trees.insideAny(d, outer) && isDirectory.test(d)) {
        dirs.add(d);
      }
    }
    return new Changes(dirs, outer);
  }

  /** Both records together, as one delta must copy them (the live catch-up's, when it could not finish). */
  static Changes merge(Changes a, Changes b, Predicate<String> isDirectory) {
    Set<String> dirs = new TreeSet<>(a.directories());
    dirs.addAll(b.directories());
    Set<String> trees = new TreeSet<>(a.subtrees());
    trees.addAll(b.subtrees());
    return fold(dirs, trees, isDirectory);
  }

  /**
   * The changes, with the home itself among the changed directories when its own inode changed: inotify reports a
   * directory's mode, owner, time or attribute change only to the watch of its parent, and the home's parent is not
   * watched.
   */
  static Changes withHome(Changes changes, boolean homeChanged) {
    if (!homeChanged || changes.directories().contains("") || changes.subtrees().contains("")) {
      return changes;
    }
    TreeSet<String> dirs = new TreeSet<>(changes.directories());
    dirs.add("");
    return new Changes(dirs, changes.subtrees());
  }

  /** Whether the record names the whole home as new: copying it is a walk of the whole home anyway. */
  static boolean coversWholeHome(Changes changes) {
    return changes.subtrees().contains("");
  }

  /**
   * Whether every path can be handed to rsync by name. Java decodes file names with the locale's charset: bytes
   * that are not valid there (a Latin-1 name under UTF-8, anything beyond ASCII under LANG=C) become U+FFFD, and
   * such a path names no file.
   */
  static boolean nameable(Changes changes) {
    return Stream.concat(changes.directories().stream(), changes.subtrees().stream()).noneMatch(p -> p.indexOf('\uFFFD') >= 0);
  }

  /**
   * The directories a pre-copy into a snapshot of the previous backup must visit: those whose digest, taken by the
   * walk a moment ago, is unknown or differs from the previous backup's index.
   */
  static <D> Changes differing(Map<String, D> walked, Map<String, D> previous, Predicate<D> known) {
    SortedSet<String> differ = new TreeSet<>();
    walked.forEach((dir, digest) -> {
      if (!known.test(digest) || !digest.equals(previous.get(dir))) {
        differ.add(dir);
      }
    });
    return new Changes(differ, new TreeSet<>());
  }

  /**
   * The directories walked below a changed one that the copy no longer has. The delta's {@code rsync -d --delete}
   * of a changed directory removes a subdirectory moved away meanwhile, and the move itself raises events only in
   * the two parents: the subdirectory's own digest, and its descendants', would otherwise still vouch for a copy
   * that is gone, and a move back before the next backup would match them.
   *
   * @param inCopy whether a relative path is a directory of the copy
   */
  static Set<String> removedFromCopy(Set<String> walked, Set<String> changedDirectories, Predicate<String> inCopy) {
    Set<String> gone = new java.util.HashSet<>();
    if (changedDirectories.isEmpty()) {
      return gone;
    }
    for (String dir : walked) {
      boolean belowChanged = !dir.isEmpty() && Trees.insideAny(Trees.parentOf(dir), changedDirectories);
      if (belowChanged && !inCopy.test(dir)) {
        gone.add(dir);
      }
    }
    return gone;
  }
}
