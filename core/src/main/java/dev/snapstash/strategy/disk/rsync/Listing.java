package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.util.Natives;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Lists a directory and lstat's each entry, for the change tracker's walk: through the C library ({@link
 * NativeListing}) where it loads and {@link Natives} allows it, else through {@code java.nio} ({@link
 * JavaListing}). Both give the same entries with the same attributes, so the digests a walk takes are the same
 * either way; only the speed differs.
 */
interface Listing {
  int S_IFMT = 0170000;
  int S_IFDIR = 0040000;
  int S_IFREG = 0100000;

  /**
   * What a digest covers of an entry, as lstat gives it. The fields hold what Java's {@code unix:} view reads for
   * the same names (signed where Java's are), so that digests stay comparable with indexes written before.
   */
  record Stat(int mode, int nlink, long ino, int uid, int gid, long size, long mtimeNanos, long ctimeNanos) {
    int type() {
      return mode & S_IFMT;
    }
  }

  /** A directory entry: its name's bytes as the kernel has them, and its attributes. */
  record Entry(byte[] name, Stat stat) {}

  /** lstat of one path ({@code path} NUL-terminated; {@code shown} the same path as Java names it). */
  Stat lstat(byte[] path, String shown) throws IOException;

  /**
   * Every entry of the directory {@code dir} (NUL-terminated) but "." and "..", in the directory's order; null if
   * the directory is gone, or is no longer a directory (replaced by a file or a symbolic link, which is never
   * followed). An entry removed between the listing and its lstat is left out.
   */
  List<Entry> list(byte[] dir, String shown) throws IOException;

  /** The listing and why it was chosen. */
  record Chosen(Listing listing, Natives.Choice choice) {}

  /**
   * The C library's listing unless {@code off} says why not (the switch) or it does not load, then Java's.
   */
  static Chosen choose(Optional<String> off) {
    if (off.isPresent()) {
      return new Chosen(JavaListing.INSTANCE, new Natives.Choice("listing", false, JavaListing.NAME, off.get()));
    }
    try {
      return new Chosen(NativeListing.load(), new Natives.Choice("listing", true, "native", "open, readdir and statx through JNA"));
    } catch (IOException e) {
      return new Chosen(
          JavaListing.INSTANCE,
          new Natives.Choice("listing", false, JavaListing.NAME, "the C library's listing did not load: " + e.getMessage()));
    }
  }
}
