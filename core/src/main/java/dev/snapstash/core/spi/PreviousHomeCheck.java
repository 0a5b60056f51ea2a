package dev.snapstash.core.spi;

import java.util.List;

/**
 * The engine's check of the previous backup's copy of the home, which a disk strategy builds the new copy on (hard
 * links, a snapshot of it, an incremental receive on top of it). Damage in that copy (a byte flipped on disk, a file
 * edited by hand) must not reach the new backup: every file the new copy shares with the previous one inherits its
 * bytes, and its digest too.
 *
 * <p>The check compares each file of the previous copy with its stamp (the inode and change time it had when its
 * digest was established, in {@code home.stamps}): a stat per file, which proves it unchanged. Only the files whose
 * stamp does not match are read again and compared with their digest in {@code home.sha256}; those that differ are
 * damaged. It starts beside the preflight and runs on threads of its own. Thread-safe; both methods may be called any
 * number of times.
 */
public interface PreviousHomeCheck {
  /** No previous copy to check, or a caller that checked it itself (tests of a strategy alone): nothing damaged. */
  PreviousHomeCheck NONE =
      new PreviousHomeCheck() {
        @Override
        public void awaitStamps() {}

        @Override
        public List<String> damaged() {
          return List.of();
        }
      };

  /**
   * Returns once every file of the previous copy has been compared with its stamp. A strategy that hard-links
   * against the previous copy calls this before its first link: a link changes the change time of the inode, and
   * the check must have seen it before. Throws INTERRUPTED if interrupted while waiting.
   */
  void awaitStamps();

  /**
   * The files of the previous copy (paths relative to its home, sorted) that no longer match the digest recorded
   * for them; waits for the check to end. A strategy must not hard-link, keep from a snapshot, or receive on top of
   * any of them: it copies each afresh from the home (or from the snapshot it copies), and one the home no longer
   * has is simply not in the new backup. The previous backup itself is never changed, so that verifying it still
   * shows the damage.
   */
  List<String> damaged();
}
