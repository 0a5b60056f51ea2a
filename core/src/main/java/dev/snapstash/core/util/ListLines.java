package dev.snapstash.core.util;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * Lines of "{@code <hex>  ./<path>}" as {@code sha256sum} writes them, for the lists snapstash keeps beside a
 * backup ({@code home.sha256}, {@code home.index}): a path holding a backslash, a newline or a carriage return is
 * escaped ({@code \\}, {@code \n}, {@code \r}) and its line starts with a backslash, so that every path is one
 * line and {@code sha256sum -c} still reads the list.
 */
public final class ListLines {
  private ListLines() {}

  /** One entry: a hex value and a path relative to the listed directory. */
  public record Entry(String hex, String path) {}

  public static String line(String hex, String path) {
    if (plain(path)) {
      return hex + "  ./" + path + "\n";
    }
    String name = path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    return "\\" + hex + "  ./" + name + "\n";
  }

  /** Whether {@link #line} writes {@code path} as it is, with nothing to escape. */
  public static boolean plain(String path) {
    return path.indexOf('\\') < 0 && path.indexOf('\n') < 0 && path.indexOf('\r') < 0;
  }

  /** The entry of a line written by {@link #line} with a value of {@code hexLength} characters, or empty. */
  public static Optional<Entry> parse(String line, int hexLength) {
    boolean escaped = line.startsWith("\\");
    String rest = escaped ? line.substring(1) : line;
    if (rest.length() <= hexLength + 4 || !rest.startsWith("  ./", hexLength)) {
      return Optional.empty();
    }
    String name = rest.substring(hexLength + 4);
    return Optional.of(new Entry(rest.substring(0, hexLength), escaped ? unescape(name) : name));
  }

  /** What {@link #read} finds, line by line; each returns whether to go on. */
  public interface LineVisitor {
    /**
     * A line exactly as {@link #line} writes it, with a value of ASCII characters: the value is the {@code
     * hexLength} bytes of {@code text} from {@code start}, the path is decoded.
     */
    boolean plain(byte[] text, int start, String path);

    /** Any other line, decoded: {@link #parse} reads it, or it is no entry. */
    boolean other(String line);
  }

  /**
   * The lines of {@code text} from {@code from}, split as {@link java.io.BufferedReader#readLine} splits them (at a
   * line feed, a carriage return, or both) and decoded as UTF-8, malformed input an error as for a reader. A list of
   * 100,000 lines is mostly plain ones: only their paths are decoded, and their values can be taken from the bytes.
   * Returns whether the visitor went through to the end.
   */
  public static boolean read(byte[] text, int from, int hexLength, LineVisitor visitor) throws IOException {
    for (int start = from, end; start < text.length; start = end + 1) {
      end = indexOf(text, (byte) '\n', start);
      String path = end < text.length ? plainPath(text, start, end, hexLength) : null;
      if (path != null) {
        if (!visitor.plain(text, start, path)) {
          return false;
        }
        continue;
      }
      String line = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(text, start, end - start)).toString();
      String[] lines = line.split("\r", -1);
      // A carriage return just before the line feed (or the end) ends the line, and starts none.
      int count = line.endsWith("\r") ? lines.length - 1 : lines.length;
      for (int i = 0; i < count; i++) {
        if (!visitor.other(lines[i])) {
          return false;
        }
      }
    }
    return true;
  }

  private static final byte[] SEPARATOR = "  ./".getBytes(StandardCharsets.US_ASCII);

  /**
   * The path of a line that {@link #line} writes the same, byte for byte: {@code hexLength} ASCII characters, the
   * separator, a path needing no escape in valid UTF-8. Null for any other line.
   */
  private static String plainPath(byte[] text, int start, int end, int hexLength) {
    int from = start + hexLength + SEPARATOR.length;
    if (from >= end || text[start] == '\\' || !Arrays.equals(text, start + hexLength, from, SEPARATOR, 0, SEPARATOR.length)) {
      return null;
    }
    for (int i = start; i < end; i++) {
      byte b = text[i];
      if (b == '\r' || b == '\\' || (b < 0 && i < start + hexLength)) {
        return null;
      }
    }
    String path = new String(text, from, end - from, StandardCharsets.UTF_8);
    // A replacement character: malformed UTF-8 (or a name that holds one), which the strict decoder tells apart.
    return path.indexOf('\uFFFD') < 0 ? path : null;
  }

  /** The first {@code b} in {@code text} from {@code from}, or its length. */
  public static int indexOf(byte[] text, byte b, int from) {
    for (int i = from; i < text.length; i++) {
      if (text[i] == b) {
        return i;
      }
    }
    return text.length;
  }

  private static String unescape(String name) {
    StringBuilder sb = new StringBuilder(name.length());
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '\\' && i + 1 < name.length()) {
        char n = name.charAt(++i);
        sb.append(n == 'n' ? '\n' : n == 'r' ? '\r' : n);
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
