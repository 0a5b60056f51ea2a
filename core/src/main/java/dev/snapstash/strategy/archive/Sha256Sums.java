package dev.snapstash.strategy.archive;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code sha256sum} text format, both for the archive's index of its members and for the {@code .sha256} file
 * beside it, so that {@code sha256sum -c} checks either. A name holding a backslash or a newline is escaped as
 * GNU coreutils does it: the line starts with a backslash, and those two characters are written {@code \\} and
 * {@code \n}.
 */
public final class Sha256Sums {
  private Sha256Sums() {}

  public static String line(String hex, String name) {
    if (name.indexOf('\\') < 0 && name.indexOf('\n') < 0 && name.indexOf('\r') < 0) {
      return hex + "  " + name + "\n";
    }
    String escaped = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    return "\\" + hex + "  " + escaped + "\n";
  }

  /** The lines of {@code text}, name to hex digest; throws IllegalArgumentException for a line that is not one. */
  public static Map<String, String> parse(String text) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      boolean escaped = line.startsWith("\\");
      String l = escaped ? line.substring(1) : line;
      if (l.length() < 67 || !l.substring(0, 64).matches("[0-9a-f]{64}") || !(l.startsWith("  ", 64) || l.startsWith(" *", 64))) {
        throw new IllegalArgumentException("not a sha256sum line: " + line);
      }
      String name = l.substring(66);
      if (escaped) {
        name = unescape(name);
      }
      out.put(name, l.substring(0, 64));
    }
    return out;
  }

  private static String unescape(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        char n = s.charAt(++i);
        b.append(n == 'n' ? '\n' : n == 'r' ? '\r' : n);
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
