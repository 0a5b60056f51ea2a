package dev.snapstash.core.engine;

import dev.snapstash.core.home.HomeIndex;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.RecursiveAction;

/**
 * The checksums' pass over a copy that this backup's {@link HomeIndex} and the previous one's describe. A directory
 * with the same entry in both, which holds as many files in the previous list as the index counts, is vouched for:
 * it holds the same files as the previous backup's copy, and their lines of the previous list are this list's. The
 * pass reads the copy only where that does not hold.
 *
 * <p>It goes down from the home as a walk of the whole copy would, and takes from the copy only what such a walk
 * would: a vouched directory it reaches is not listed (its files are the previous list's, its subdirectories the
 * index's); any other directory it reaches is listed, its regular files looked at, its subdirectories reached. So a
 * vouched directory counts only if it is reached: through vouched parents from the home, or through a listed
 * parent that holds it as a directory (not deleted, not replaced by a link, since the index was taken). One with
 * files that the pass does not reach, or a directory the index names that it cannot list, means the indexes do not
 * describe this copy, and the caller checksums every file; so do a list and an index that disagree (a file where
 * the index has a directory), and a path no walk gives, which would be carried into the list as it is.
 *
 * <p>On a home of 100,000 files in 80,000 directories, nearly all vouched, this is a map lookup or two per directory
 * and per line of the previous list, and the few directories that changed listed in parallel, where a walk built a
 * path and a map entry for every file and directory.
 */
final class IndexPass {
  /** Its lines are the checksums' own. */
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HomeChecksums.class);

  /** One directory of this backup's index, and what the pass learns of it. */
  private static final class Node {
    final String rel;
    final HomeIndex.Dir dir;
    /** The files the previous list has directly in it. */
    int listed;
    /** Whether the previous list has a file where this index has a subdirectory: the two disagree. */
    boolean clash;
    boolean vouched;
    /** Written by the one task that reaches it, read once the pass is over. */
    boolean reached;
    /** Its subdirectories in the index (the pass goes by them below a vouched directory, which it does not list). */
    List<Node> children = List.of();

    Node(String rel, HomeIndex.Dir dir) {
      this.rel = rel;
      this.dir = dir;
    }

    void adopt(Node child) {
      if (children.isEmpty()) {
        children = new ArrayList<>(2);
      }
      children.add(child);
    }
  }

  private final Map<String, Node> nodes;
  /** For each line of the previous list, the directory of the index it is directly in, or null. */
  private final Node[] parents;

  private IndexPass(Map<String, Node> nodes, Node[] parents) {
    this.nodes = nodes;
    this.parents = parents;
  }

  /**
   * The pass for {@code backupDir}, when it and {@code previousBackupDir} have indexes taken with the same
   * excludes and there is a previous list; empty otherwise. The previous index is read on {@code pool} while this
   * one is read here, and the list wherever the caller reads it. The directories in {@code unvouched} (those of
   * files whose previous copy could not be proven unchanged) are listed whatever the indexes say.
   */
  static Optional<IndexPass> of(
      Path backupDir, Path previousBackupDir, Future<DigestList> previousList, ExecutorService pool, Set<String> unvouched)
      throws InterruptedException {
    // Only indexes taken with the same excludes: a file excluded since is in the previous list, not in this copy.
    Map<String, HomeIndex.Dir> before = new HashMap<>();
    Future<Boolean> readBefore = pool.submit(() -> HomeIndex.readLike(previousBackupDir, backupDir, before::put));
    Map<String, Node> nodes = new HashMap<>();
    boolean now = HomeIndex.readLike(backupDir, previousBackupDir, (rel, dir) -> nodes.put(rel, new Node(rel, dir)));
    DigestList previous = HomeChecksums.result(previousList);
    // Counting the list's files in each directory while the previous index is still being read.
    Node[] parents = now && previous.size() > 0 ? parents(nodes, previous) : null;
    if (!HomeChecksums.result(readBefore) || !now || previous.size() == 0) {
      return Optional.empty();
    }
    boolean plain = parents != null;
    for (Node n : nodes.values()) {
      plain = plain && settle(n, before, nodes, previous, unvouched);
    }
    if (!plain) {
      log.info("the {} or the previous {} names a path no walk would; checksumming every file", HomeIndex.FILE, HomeChecksums.FILE);
      return Optional.empty();
    }
    return Optional.of(new IndexPass(nodes, parents));
  }

  /**
   * Whether {@code n} is vouched for, and its place among its parent's subdirectories (where the previous list may
   * have a file of its name); false if its path is not one a walk gives (the pass builds paths as a walk does).
   */
  private static boolean settle(
      Node n, Map<String, HomeIndex.Dir> before, Map<String, Node> nodes, DigestList previous, Set<String> unvouched) {
    n.vouched =
        n.dir.known() && n.listed == n.dir.files() && n.dir.equals(before.get(n.rel)) && !unvouched.contains(n.rel);
    Node parent = n.rel.isEmpty() ? null : nodes.get(Trees.parentOf(n.rel));
    if (parent != null) {
      parent.adopt(n);
      parent.clash |= parent.listed > 0 && previous.lists(n.rel);
    }
    return plain(n.rel);
  }

  /**
   * The directory of the index each line of the previous list is directly in, counting each directory's files;
   * null if a file in one is not a name a walk gives.
   */
  private static Node[] parents(Map<String, Node> nodes, DigestList previous) {
    Node[] parents = new Node[previous.size()];
    for (int i = 0; i < parents.length; i++) {
      String path = previous.path(i);
      parents[i] = count(nodes, path);
      if (parents[i] != null && (!plainName(path, path.lastIndexOf('/') + 1, path.length()) || path.indexOf(0) >= 0)) {
        return null;
      }
    }
    return parents;
  }

  /** The directory of the index {@code path} is directly in, with the file counted in it; null if none. */
  private static Node count(Map<String, Node> nodes, String path) {
    Node parent = nodes.get(Trees.parentOf(path));
    if (parent != null) {
      parent.listed++;
    }
    return parent;
  }

  /**
   * Lists what the indexes do not vouch for in {@code home}: its files, and the previous list's lines carried over;
   * empty (and logged) when the indexes turn out not to describe the copy.
   */
  Optional<HomeChecksums.Listing> list(Path home, int threads) {
    Queue<HomeChecksums.Entry> found = new ConcurrentLinkedQueue<>();
    ForkJoinPool pool = new ForkJoinPool(Math.max(1, threads));
    try {
      // As a walk of the copy: nothing at all when the home is not a directory.
      if (Files.isDirectory(home)) {
        pool.invoke(new Reached(home, "", home, nodes.get(""), found));
      }
    } catch (UncheckedIOException e) {
      log.info("the copy does not match its {} ({}); checksumming every file", HomeIndex.FILE, HomeChecksums.walkFailure(home, e).getMessage());
      return Optional.empty();
    } finally {
      pool.shutdown();
    }
    long vouchedBytes = 0;
    for (Node n : nodes.values()) {
      if (!matches(n)) {
        log.info("the copy does not match its {}; checksumming every file", HomeIndex.FILE);
        return Optional.empty();
      }
      vouchedBytes += n.vouched ? n.dir.bytes() : 0;
    }
    List<HomeChecksums.Entry> files = new ArrayList<>(found);
    files.sort(Comparator.comparing(HomeChecksums.Entry::rel));
    return Optional.of(new HomeChecksums.Listing(files, carried(), vouchedBytes));
  }

  /**
   * Whether what the pass found agrees with the indexes on {@code n}: a vouched directory with files must have been
   * reached, and the previous list must have no file where the index has one of its subdirectories.
   */
  private static boolean matches(Node n) {
    return !n.vouched || (!n.clash && (n.reached || n.dir.files() == 0));
  }

  /** The lines of the previous list in vouched directories the pass reached, in the list's order. */
  private int[] carried() {
    int[] carried = new int[parents.length];
    int n = 0;
    for (int i = 0; i < parents.length; i++) {
      if (carries(parents[i])) {
        carried[n++] = i;
      }
    }
    return Arrays.copyOf(carried, n);
  }

  private static boolean carries(Node parent) {
    return parent != null && parent.vouched && parent.reached;
  }

  /** A directory the pass reached: listed, or (vouched) not even that. */
  private final class Reached extends RecursiveAction {
    private final Path home;
    private final String rel;
    private final Path dir;
    private final Node node;
    private final Queue<HomeChecksums.Entry> found;

    Reached(Path home, String rel, Path dir, Node node, Queue<HomeChecksums.Entry> found) {
      this.home = home;
      this.rel = rel;
      this.dir = dir;
      this.node = node;
      this.found = found;
    }

    @Override
    protected void compute() {
      List<Reached> forks = new ArrayList<>();
      if (node != null && node.vouched) {
        reach(node, forks);
      } else {
        list(forks);
      }
      invokeAll(forks);
    }

    /** A vouched directory and, in memory, the vouched ones below it; the others below it are forked to be listed. */
    private void reach(Node vouched, List<Reached> forks) {
      vouched.reached = true;
      for (Node c : vouched.children) {
        if (c.vouched) {
          reach(c, forks);
        } else {
          forks.add(new Reached(home, c.rel, home.resolve(c.rel), c, found));
        }
      }
    }

    /** As the walk of the whole copy lists a directory: regular files found, subdirectories reached in turn. */
    private void list(List<Reached> forks) {
      try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
        for (Path child : children) {
          BasicFileAttributes attrs = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
          String name = child.getFileName().toString();
          String childRel = rel.isEmpty() ? name : rel + "/" + name;
          if (attrs.isDirectory()) {
            forks.add(new Reached(home, childRel, child, nodes.get(childRel), found));
          } else if (attrs.isRegularFile()) {
            found.add(HomeChecksums.entry(home, childRel, child, attrs));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Whether a walk could give {@code rel}: "" for the home, or names joined by single slashes. */
  private static boolean plain(String rel) {
    if (rel.indexOf(0) >= 0) {
      return false;
    }
    for (int start = 0; !rel.isEmpty(); ) {
      int slash = rel.indexOf('/', start);
      int end = slash < 0 ? rel.length() : slash;
      if (!plainName(rel, start, end)) {
        return false;
      }
      if (slash < 0) {
        return true;
      }
      start = slash + 1;
    }
    return true;
  }

  /** Whether {@code s} from {@code from} to {@code to} can be a file's name, NULs aside: not empty, not "." or "..". */
  private static boolean plainName(String s, int from, int to) {
    int length = to - from;
    return length > 0 && !(s.charAt(from) == '.' && (length == 1 || (length == 2 && s.charAt(from + 1) == '.')));
  }
}
