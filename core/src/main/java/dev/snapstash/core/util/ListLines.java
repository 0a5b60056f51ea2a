package dev.snapstash.core.util;

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
    boolean escape = path.indexOf('\\') >= 0 || path.indexOf('\n') >= 0 || path.indexOf('\r') >= 0;
    if (!escape) {
      return hex + "  ./" + path + "\n";
    }
    String name = path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    return "\\" + hex + "  ./" + name + "\n";
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
