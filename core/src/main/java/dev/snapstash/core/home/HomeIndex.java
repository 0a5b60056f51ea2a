package dev.snapstash.core.home;

import dev.snapstash.core.util.FileStamp;
import dev.snapstash.core.util.FileModes;
import dev.snapstash.core.util.ListLines;
import dev.snapstash.core.util.Trees;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * {@code home.index} beside a backup's {@code home/}: for each directory of the live home whose copy in the backup
 * it vouches for, a digest of the directory's own attributes and of its entries' names and attributes, taken by the
 * rsync strategy's change tracker (see docs/strategies/disk-rsync.md), with the number and total size of its
 * regular files.
 *
 * <p>Two uses, both only optimisations (a missing or damaged index means doing the work in full):
 *
 * <ul>
 *   <li>the next backup's pre-copy, starting from a snapshot of this one, runs rsync only over the directories
 *       whose digest differs;
 *   <li>a directory with the same entry in two backups' indexes holds the same files in both, so {@link
 *       HomeChecksums} takes their digests from the previous list without looking at them.
 * </ul>
 */
public final class HomeIndex {
  public static final String FILE = "home.index";
  private static final String HEADER = "# snapstash home index 3, excludes ";
  /** A line's value: the digest, the regular files' count and total size, in fixed widths. */
  private static final int VALUE = 64 + 1 + 12 + 1 + 16;

  private HomeIndex() {}

  /** One directory: its digest, and the number and total size of the regular files directly in it. */
  public record Dir(String digest, long files, long bytes) {
    /** Whether a digest vouches for this directory. */
    public boolean known() {
      return !digest.equals(UNKNOWN.digest);
    }
  }

  /** A directory whose digest cannot vouch for it: a change time too recent, or a name Java cannot decode. */
  public static final Dir UNKNOWN = new Dir("-".repeat(64), 0, 0);

  /**
   * The directories of {@code backupDir}'s index, relative to the home ("" for the home), when it was taken with
   * these {@code excludes} (the rsync strategy's, space-separated); empty if there is none, or it is damaged, or
   * the copy left out other files than a copy with these excludes would.
   */
  public static Optional<Map<String, Dir>> read(Path backupDir, String excludes) {
    String header = header(excludes);
    Path f = backupDir.resolve(FILE);
    Optional<Memo> memo = memo(f);
    if (memo.isPresent()) {
      return memo.get().header().equals(header) ? Optional.of(memo.get().dirs()) : Optional.empty();
    }
    Optional<FileStamp> stamp = FileStamp.of(f);
    Map<String, Dir> out = new HashMap<>();
    if (!readWith(backupDir, header, out::put)) {
      return Optional.empty();
    }
    Map<String, Dir> dirs = Collections.unmodifiableMap(out);
    stamp.ifPresent(st -> remember(f, new Memo(st, header, dirs)));
    return Optional.of(dirs);
  }

  /**
   * Indexes this process wrote or read, by file, kept while the file is as it was: a backup reads its own index
   * back for its checksums right after writing it, and reads the previous backup's twice (for the pre-copy, then
   * for the checksums). Parsing an index of 80,000 lines is a quarter of a second idle, and several times that
   * under the load of a live instance.
   */
  private static final Map<Path, Memo> MEMO = new ConcurrentHashMap<>();

  /** A backup run touches two indexes; a long-lived process (the tests) must not keep every one it ever read. */
  private static final int MEMO_SIZE = 4;

  private record Memo(FileStamp stamp, String header, Map<String, Dir> dirs) {}

  private static void remember(Path f, Memo memo) {
    if (MEMO.size() >= MEMO_SIZE) {
      MEMO.clear();
    }
    MEMO.put(f, memo);
  }

  private static Optional<Memo> memo(Path f) {
    Memo m = MEMO.get(f);
    if (m == null) {
      return Optional.empty();
    }
    if (!m.stamp().matches(f)) {
      MEMO.remove(f, m);
      return Optional.empty();
    }
    return Optional.of(m);
  }

  /**
   * Gives {@code visitor} each directory of {@code backupDir}'s index, as {@link #read} has them, when {@code
   * other}'s was taken with the same excludes; false when there is no such index or it is damaged, and then what
   * the visitor was given does not count. For a caller that keeps less than a map of the whole index.
   */
  public static boolean readLike(Path backupDir, Path other, BiConsumer<String, Dir> visitor) {
    String header;
    try (BufferedReader r = Files.newBufferedReader(other.resolve(FILE), StandardCharsets.UTF_8)) {
      header = r.readLine();
    } catch (IOException e) {
      return false;
    }
    return header != null && header.startsWith(HEADER) && readWith(backupDir, header, visitor);
  }

  private static boolean readWith(Path backupDir, String header, BiConsumer<String, Dir> visitor) {
    Path f = backupDir.resolve(FILE);
    Optional<Memo> memo = memo(f);
    if (memo.isPresent()) {
      if (!memo.get().header().equals(header)) {
        return false;
      }
      memo.get().dirs().forEach(visitor);
      return true;
    }
    if (!Files.isRegularFile(f)) {
      return false;
    }
    try {
      byte[] text = Files.readAllBytes(f);
      int from = afterHeader(text, header);
      // Another header, or a damaged line: trust none of it.
      return from >= 0 && ListLines.read(text, from, VALUE, new Lines(visitor));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Where the line after {@code header} starts, or -1 if the first line is not {@code header}. */
  private static int afterHeader(byte[] text, String header) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    if (text.length < h.length || !Arrays.equals(text, 0, h.length, h, 0, h.length)) {
      return -1;
    }
    if (text.length == h.length) {
      return h.length;
    }
    byte end = text[h.length];
    if (end == '\n') {
      return h.length + 1;
    }
    // A line reader also ends a line at a carriage return, or at both.
    return end != '\r' ? -1 : h.length + (h.length + 1 < text.length && text[h.length + 1] == '\n' ? 2 : 1);
  }

  /** The directories of an index's lines; a line that is none stops the reading. */
  private record Lines(BiConsumer<String, Dir> out) implements ListLines.LineVisitor {
    @Override
    public boolean plain(byte[] text, int start, String path) {
      out.accept(
          key(path),
          new Dir(
              new String(text, start, 64, StandardCharsets.US_ASCII),
              number(text, start + 65, 12),
              number(text, start + 78, 16)));
      return true;
    }

    @Override
    public boolean other(String line) {
      Optional<ListLines.Entry> e = ListLines.parse(line, VALUE);
      if (e.isEmpty()) {
        return false;
      }
      String v = e.get().hex();
      out.accept(key(e.get().path()), new Dir(v.substring(0, 64), Long.parseLong(v, 65, 77, 10), Long.parseLong(v, 78, 94, 10)));
      return true;
    }

    private static String key(String path) {
      return path.equals(".") ? "" : path;
    }

    /**
     * The number in {@code length} ASCII characters from {@code start}, as {@link Long#parseLong} reads them. The
     * zero-padded digits {@link #write} puts there are read here, 160,000 times for two indexes; anything else is
     * left to {@code parseLong}.
     */
    private static long number(byte[] text, int start, int length) {
      long n = 0;
      for (int i = start; i < start + length; i++) {
        int digit = text[i] - '0';
        if (digit < 0 || digit > 9) {
          return Long.parseLong(new String(text, start, length, StandardCharsets.US_ASCII));
        }
        n = n * 10 + digit;
      }
      return n;
    }
  }

  /**
   * Writes the index of a backup: every directory its walk saw, so that the index knows each one's subdirectories;
   * {@link #UNKNOWN} for those it cannot vouch for, or that changed while the backup ran ({@code changed}), or lie
   * in a subtree that appeared meanwhile ({@code newSubtrees}). Returns how many it vouches for.
   */
  public static int write(
      Path backupDir, String excludes, Map<String, Dir> walked, Set<String> changed, Set<String> newSubtrees)
      throws IOException {
    return write(backupDir, excludes, walked, changed, newSubtrees, FileModes.ownerOnly());
  }

  /** {@link #write(Path, String, Map, Set, Set)}, the index getting {@code modes}' file mode. */
  public static int write(
      Path backupDir, String excludes, Map<String, Dir> walked, Set<String> changed, Set<String> newSubtrees, FileModes modes)
      throws IOException {
    Path tmp = backupDir.resolve(FILE + ".tmp");
    String header = header(excludes);
    Map<String, Dir> written = new HashMap<>(walked.size() * 4 / 3 + 1);
    int listed = 0;
    byte[] value = new byte[VALUE];
    try (OutputStream w = new BufferedOutputStream(modes.newOutputStream(tmp), 1 << 16)) {
      w.write((header + "\n").getBytes(StandardCharsets.UTF_8));
      for (Map.Entry<String, Dir> e : walked.entrySet()) {
        String dir = e.getKey();
        Dir d = changed.contains(dir) || Trees.insideAny(dir, newSubtrees) ? UNKNOWN : e.getValue();
        written.put(dir, d);
        String path = dir.isEmpty() ? "." : dir;
        if (!plainValue(value, d) || !ListLines.plain(path)) {
          w.write(ListLines.line(d.digest() + ' ' + padded(d.files(), 12) + ' ' + padded(d.bytes(), 16), path)
              .getBytes(StandardCharsets.UTF_8));
        } else {
          // The same bytes as the line above, without building it: 80,000 lines per backup.
          w.write(value);
          w.write(PATH_PREFIX);
          w.write(path.getBytes(StandardCharsets.UTF_8));
          w.write('\n');
        }
        listed += d.known() ? 1 : 0;
      }
    }
    Path f = backupDir.resolve(FILE);
    Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Map<String, Dir> dirs = Collections.unmodifiableMap(written);
    FileStamp.of(f).ifPresent(st -> remember(f, new Memo(st, header, dirs)));
    return listed;
  }

  private static final byte[] PATH_PREFIX = "  ./".getBytes(StandardCharsets.US_ASCII);

  /**
   * A line's value in {@code value}: the digest, and the counts zero-padded to their widths; false if it does not
   * fit those widths (never for a real directory), and then it is written as a string.
   */
  private static boolean plainValue(byte[] value, Dir d) {
    String digest = d.digest();
    if (digest.length() != 64 || !fits(d.files(), 12) || !fits(d.bytes(), 16)) {
      return false;
    }
    for (int i = 0; i < 64; i++) {
      char c = digest.charAt(i);
      if (c > 0x7f) {
        return false;
      }
      value[i] = (byte) c;
    }
    value[64] = ' ';
    digits(value, 65, 12, d.files());
    value[77] = ' ';
    digits(value, 78, 16, d.bytes());
    return true;
  }

  private static boolean fits(long n, int width) {
    long limit = 1;
    for (int i = 0; i < width; i++) {
      limit *= 10;
    }
    return n >= 0 && n < limit;
  }

  private static void digits(byte[] into, int start, int width, long n) {
    for (int i = start + width - 1; i >= start; i--) {
      into[i] = (byte) ('0' + n % 10);
      n /= 10;
    }
  }

  /** The first line: the format, and the excludes as a digest (they are in the manifest in full). */
  private static String header(String excludes) {
    return HEADER + dev.snapstash.core.util.Digests.sha256(excludes.getBytes(StandardCharsets.UTF_8));
  }

  private static String padded(long n, int width) {
    String digits = Long.toString(n);
    return "0".repeat(Math.max(0, width - digits.length())) + digits;
  }
}
