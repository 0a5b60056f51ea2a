package dev.snapstash.strategy.disk.rsync;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@link Listing} through {@code java.nio}: a directory stream and the {@code unix:} attribute view per entry. The
 * fallback of {@link NativeListing}, whose fields are defined as what this view reads, at about twice its cost
 * per entry (docs/performance.md).
 *
 * <p>A directory is opened by its path, which Java resolves following symbolic links; so each listing is framed
 * by an lstat of the directory before and after it, and a listing across which the directory was not the same
 * directory (replaced, by a symbolic link or anything else) counts as gone, as {@link NativeListing}'s
 * {@code O_NOFOLLOW} makes it: its parent's watch saw it go.
 */
final class JavaListing implements Listing {
  static final JavaListing INSTANCE = new JavaListing();
  static final String NAME = "java.nio";

  /** What a digest covers, by the names {@link Listing.Stat} is defined by. */
  private static final String STAT = "unix:mode,nlink,ino,uid,gid,size,lastModifiedTime,ctime";

  private JavaListing() {}

  @Override
  public Stat lstat(byte[] path, String shown) throws IOException {
    return stat(Files.readAttributes(Path.of(shown), STAT, LinkOption.NOFOLLOW_LINKS));
  }

  @Override
  public List<Entry> list(byte[] dir, String shown) throws IOException {
    Path path = Path.of(shown);
    Stat before = directory(path);
    if (before == null) {
      return null;
    }
    List<Entry> entries = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(path)) {
      for (Path entry : stream) {
        Map<String, Object> a;
        try {
          a = Files.readAttributes(entry, STAT, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
          continue; // removed since it was listed: the directory's watch saw it go
        }
        entries.add(new Entry(entry.getFileName().toString().getBytes(Inotify.NAMES), stat(a)));
      }
    } catch (NoSuchFileException | NotDirectoryException gone) {
      return null;
    }
    Stat after = directory(path);
    return after == null || after.ino() != before.ino() ? null : entries;
  }

  /** The directory's own attributes, or null if it is gone or not a directory (a symbolic link is not). */
  private static Stat directory(Path path) throws IOException {
    try {
      Stat s = stat(Files.readAttributes(path, STAT, LinkOption.NOFOLLOW_LINKS));
      return s.type() == S_IFDIR ? s : null;
    } catch (NoSuchFileException gone) {
      return null;
    }
  }

  private static Stat stat(Map<String, Object> a) {
    return new Stat(
        (Integer) a.get("mode"),
        (Integer) a.get("nlink"),
        (Long) a.get("ino"),
        (Integer) a.get("uid"),
        (Integer) a.get("gid"),
        (Long) a.get("size"),
        ((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS),
        ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS));
  }
}
