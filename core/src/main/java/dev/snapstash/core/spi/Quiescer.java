package dev.snapstash.core.spi;

/**
 * How the application is brought to a consistent, quiet state for the copy, and released afterwards. One
 * implementation per kind ({@code bitbucket}, {@code command}, {@code none}).
 */
public interface Quiescer extends Strategy {

  /** Checks reachability, credentials and permission to lock, without locking. */
  void check(Findings findings);

  /**
   * Locks and waits until the application is drained. On return the application is quiet and the returned lock
   * must be closed. If this throws, nothing is left locked: the implementation has already released what it took.
   * Every lock and task is recorded in {@code undo} the moment it exists, and marked done when released, so that
   * a process killed in between leaves what {@code snapstash recover} needs.
   */
  QuiesceLock quiesce(Progress progress, UndoLog undo);

  /** The application's version for the manifest, or null when this quiescer cannot tell. Never throws. */
  default String applicationVersion() {
    return null;
  }

  /**
   * The nodes the application reports (a Data Center cluster's), for the manifest; empty when this quiescer cannot
   * tell. Never throws.
   */
  default java.util.List<ApplicationNode> applicationNodes() {
    return java.util.List.of();
  }

}
