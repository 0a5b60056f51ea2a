package dev.snapstash.core.engine;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.util.ListLines;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A backup's {@code home.sha256} in path order (String order, as {@link HomeChecksums#write} sorts it). The next
 * list carries most of its lines over unchanged, so they are kept as the bytes read: a line as {@code write} puts
 * it is copied as it is, with no digest string made for it, and only its path decoded. A digest is found by binary
 * search, without a map of 100,000 entries to build.
 */
final class DigestList {
  static final DigestList EMPTY = new DigestList(new byte[0], new String[0], new int[0], new String[0]);

  private static final int HEX = 64;

  /** The list as read. */
  private final byte[] text;
  private final String[] paths;
  /** Where each line starts in {@code text}, or -1 for one that is not as {@code write} would put it. */
  private final int[] starts;
  /** The digests of the lines not kept as bytes; null for the others. */
  private final String[] digests;

  private DigestList(byte[] text, String[] paths, int[] starts, String[] digests) {
    this.text = text;
    this.paths = paths;
    this.starts = starts;
    this.digests = digests;
  }

  /**
   * The list beside {@code backupDir}'s home, with the lines {@link HomeChecksums#read} gives; empty when there is
   * none. A path listed twice has its last digest.
   */
  static DigestList read(Path backupDir) {
    return readFile(backupDir.resolve(HomeChecksums.FILE));
  }

  private static DigestList readFile(Path f) {
    if (!Files.isRegularFile(f)) {
      return EMPTY;
    }
    try {
      return parse(Files.readAllBytes(f));
    } catch (IOException e) {
      throw SnapstashException.storage("cannot read " + f + ": " + e.getMessage(), e);
    }
  }

  private static DigestList parse(byte[] text) throws IOException {
    Lines lines = new Lines();
    ListLines.read(text, 0, HEX, lines);
    return sorted(text, lines.paths.toArray(String[]::new), Arrays.copyOf(lines.starts, lines.paths.size()), lines.digests.toArray(String[]::new));
  }

  /** The entries of a list as read: a plain line by where it starts, any other by its digest. */
  private static final class Lines implements ListLines.LineVisitor {
    final List<String> paths = new ArrayList<>();
    final List<String> digests = new ArrayList<>();
    int[] starts = new int[1 << 10];

    @Override
    public boolean plain(byte[] text, int start, String path) {
      add(path, start, null);
      return true;
    }

    @Override
    public boolean other(String line) {
      ListLines.parse(line, HEX).ifPresent(e -> add(e.path(), -1, e.hex()));
      return true;
    }

    private void add(String path, int start, String digest) {
      if (paths.size() == starts.length) {
        starts = Arrays.copyOf(starts, starts.length * 2);
      }
      starts[paths.size()] = start;
      paths.add(path);
      digests.add(digest);
    }
  }

  /** In path order, each path once with its last digest; as it is when {@code write} wrote the list. */
  private static DigestList sorted(byte[] text, String[] paths, int[] starts, String[] digests) {
    boolean sorted = true;
    for (int i = 1; i < paths.length && sorted; i++) {
      sorted = paths[i - 1].compareTo(paths[i]) < 0;
    }
    if (sorted) {
      return new DigestList(text, paths, starts, digests);
    }
    Integer[] order = new Integer[paths.length];
    Arrays.setAll(order, i -> i);
    Arrays.sort(order, Comparator.comparing(i -> paths[i])); // stable: a path's lines stay in the list's order
    List<Integer> kept = new ArrayList<>(order.length);
    for (int k = 0; k < order.length; k++) {
      if (k + 1 == order.length || !paths[order[k + 1]].equals(paths[order[k]])) {
        kept.add(order[k]);
      }
    }
    return new DigestList(
        text,
        kept.stream().map(i -> paths[i]).toArray(String[]::new),
        kept.stream().mapToInt(i -> starts[i]).toArray(),
        kept.stream().map(i -> digests[i]).toArray(String[]::new));
  }

  int size() {
    return paths.length;
  }

  String path(int i) {
    return paths[i];
  }

  String digest(int i) {
    return starts[i] < 0 ? digests[i] : new String(text, starts[i], HEX, StandardCharsets.US_ASCII);
  }

  /** Whether the list has {@code path}. */
  boolean lists(String path) {
    return Arrays.binarySearch(paths, path) >= 0;
  }

  /** The digest listed for {@code path}, or null. */
  String digestOf(String path) {
    int i = Arrays.binarySearch(paths, path);
    return i < 0 ? null : digest(i);
  }

  /** Writes line {@code i} as {@link ListLines#line} writes it: the bytes read, where they are that already. */
  void writeLine(int i, OutputStream out) throws IOException {
    if (starts[i] < 0) {
      out.write(ListLines.line(digests[i], paths[i]).getBytes(StandardCharsets.UTF_8));
    } else {
      int end = ListLines.indexOf(text, (byte) '\n', starts[i]);
      out.write(text, starts[i], end + 1 - starts[i]);
    }
  }
}
