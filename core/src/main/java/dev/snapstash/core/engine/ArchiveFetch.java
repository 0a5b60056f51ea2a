package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.ArchiveStrategy.Member;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings one archived backup back into the backup root, streamed member by member from its destination (no
 * download first), into {@code .fetching-<tag>}, renamed to {@code <tag>} only after the reader has checked every
 * member's SHA-256 and the copy's own. A fetch that fails or is killed leaves no backup: the working directory is
 * journaled and removed. The restore engine then restores it like any local backup, with all its checks.
 */
public final class ArchiveFetch {
  private static final Logger log = LoggerFactory.getLogger(ArchiveFetch.class);
  private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

  /** What came back. */
  public record Fetched(String destination, String tag, Path dir, long files, long bytes) {}

  private final BackupStore store;

  public ArchiveFetch(BackupStore store) {
    this.store = store;
  }

  /** The copy of {@code tagOrLatest} ("latest": the newest there) in {@code d}, into the backup root. */
  public Fetched fetch(ArchiveDestination d, String tagOrLatest) {
    String tag = tagOrLatest;
    if (tag.equals("latest")) {
      tag = d.strategy().list().stream().findFirst().map(ArchiveStrategy.Archived::tag).orElseThrow(
          () -> SnapstashException.precondition("archive " + d.name() + " holds no copy yet"));
    }
    Path target = store.dir(tag);
    if (Files.exists(target)) {
      throw SnapstashException.precondition(
          "backup " + tag + " is already under backup.root (" + target + "); restore it without --from, or remove it"
              + " first to restore the archived copy");
    }
    Path work = store.root().resolve(".fetching-" + tag);
    Journal journal = Journal.begin(store.root(), "fetch " + d.name(), tag);
    RemovePartialBackup partial = new RemovePartialBackup(tag, work);
    try {
      journal.add(partial);
      Trees.deleteRecursively(work);
      store.modes().createDirectories(work);
      long[] counts = write(d, tag, work);
      try {
        Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        throw SnapstashException.storage("cannot rename " + work + " to " + target + " atomically", e);
      }
      journal.done(partial);
      journal.finish();
      log.info("fetched {} from archive {}: {} files, {} bytes", tag, d.name(), counts[0], counts[1]);
      return new Fetched(d.name(), tag, target, counts[0], counts[1]);
    } catch (IOException | RuntimeException e) {
      try {
        Trees.deleteRecursively(work);
        journal.done(partial);
        journal.finish();
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
        journal.close();
      }
      if (e instanceof SnapstashException s) {
        throw s;
      }
      throw SnapstashException.storage("cannot fetch " + tag + " from archive " + d.name() + ": " + e.getMessage(), e);
    }
  }

  private record Dir(Path path, int mode, FileTime modified) {}

  /** Writes every member under {@code work}; returns files and bytes. */
  private static long[] write(ArchiveDestination d, String tag, Path work) throws IOException {
    Path base = work.toRealPath();
    List<Dir> dirs = new ArrayList<>();
    long files = 0;
    long bytes = 0;
    byte[] buffer = new byte[1 << 20];
    try (ArchiveStrategy.Reader reader = d.strategy().open(tag)) {
      Member m;
      while ((m = reader.next()) != null) {
        Path p = base.resolve(m.path());
        Path parent = p.getParent();
        Files.createDirectories(parent);
        // A member written through a symbolic link an earlier member made would land outside the backup.
        if (!parent.toRealPath().startsWith(base)) {
          throw new SnapstashException(ErrorKind.VERIFICATION, "the archive of " + tag + " writes " + m.path() + " through a link");
        }
        switch (m.type()) {
          case DIRECTORY -> {
            Files.createDirectories(p);
            owner(p, m);
            dirs.add(new Dir(p, m.mode(), FileTime.from(m.modified())));
          }
          case FILE -> {
            InputStream in = reader.content();
            try (OutputStream out = Files.newOutputStream(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
              int n;
              while ((n = in.read(buffer)) > 0) {
                out.write(buffer, 0, n);
                bytes += n;
              }
            }
            files++;
            owner(p, m);
            // After the owner: chown clears the set-id bits.
            Files.setAttribute(p, "unix:mode", m.mode());
            Files.setLastModifiedTime(p, FileTime.from(m.modified()));
          }
          case SYMLINK -> {
            Files.createSymbolicLink(p, Path.of(m.linkTarget()));
            owner(p, m);
          }
          case HARDLINK -> Files.createLink(p, base.resolve(m.linkTarget()));
        }
      }
    }
    // Deepest first, and after their contents: writing a file changes its directory's time.
    for (int i = dirs.size() - 1; i >= 0; i--) {
      Dir dir = dirs.get(i);
      Files.setAttribute(dir.path(), "unix:mode", dir.mode());
      Files.setLastModifiedTime(dir.path(), dir.modified());
    }
    return new long[] {files, bytes};
  }

  /** As root, the owners the home had (a restore gives them back); as anyone else, the owners stay this user. */
  private static void owner(Path p, Member m) throws IOException {
    if (ROOT) {
      Files.setAttribute(p, "unix:uid", (int) m.uid(), LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(p, "unix:gid", (int) m.gid(), LinkOption.NOFOLLOW_LINKS);
    }
  }
}
