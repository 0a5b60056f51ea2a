package dev.snapstash.core.engine;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Edits one key of a Bitbucket home's {@code shared/bitbucket.properties} in place, keeping every other line
 * (comments, JDBC settings, order) as it is. Only simple {@code key=value} lines are recognised, which is how
 * Bitbucket and its installers write the file.
 */
public final class BitbucketProperties {
  public static final String RELATIVE_PATH = "shared/bitbucket.properties";

  private BitbucketProperties() {}

  /**
   * Sets {@code key} to {@code value}: replaces the first active line of that key and comments out any later
   * duplicate (the last one would win in Java's Properties), or appends it. Written to a temporary file and
   * renamed, so a crash leaves the old file or the new one, never half of it. The file's permissions are kept.
   */
  public static void set(Path home, String key, String value, String why) {
    update(home, java.util.Map.of(key, value), java.util.Set.of(), why);
  }

  /**
   * Sets each key of {@code values} as {@link #set} does (values escaped as the properties format needs), and
   * comments out every active line of each key in {@code remove}, in one atomic rewrite of the file.
   */
  public static void update(Path home, java.util.Map<String, String> values, java.util.Set<String> remove, String why) {
    Path file = home.resolve(RELATIVE_PATH);
    try {
      List<String> lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
      List<String> out = new ArrayList<>();
      java.util.Set<String> written = new java.util.HashSet<>();
      for (String line : lines) {
        String key = activeKey(line, values.keySet(), remove);
        if (key == null) {
          out.add(line);
        } else if (remove.contains(key)) {
          out.add("# " + line + "  (" + why + ")");
        } else if (written.add(key)) {
          out.add(key + "=" + escape(values.get(key)));
        } else {
          out.add("# " + line + "  (superseded above by snapstash)");
        }
      }
      boolean commented = false;
      for (var e : values.entrySet()) {
        if (!written.contains(e.getKey())) {
          if (!commented) {
            out.add("# " + why);
            commented = true;
          }
          out.add(e.getKey() + "=" + escape(e.getValue()));
        }
      }
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".snapstash-tmp");
      Files.deleteIfExists(tmp);
      // Created private: the file may hold a database password, and the old file's modes follow only below.
      Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
      Files.write(tmp, out, StandardCharsets.UTF_8);
      if (Files.exists(file)) {
        Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(file));
        var owner = Files.getFileAttributeView(file, java.nio.file.attribute.PosixFileAttributeView.class).readAttributes();
        var view = Files.getFileAttributeView(tmp, java.nio.file.attribute.PosixFileAttributeView.class);
        try {
          view.setOwner(owner.owner());
          view.setGroup(owner.group());
        } catch (IOException notPermitted) {
          // Only root may give a file away; an unprivileged restore writes files it owns anyway.
        }
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot update " + file + ": " + e.getMessage(), e);
    }
  }

  /** The key of {@code line} if it is an active line of one of the keys asked about, else null. */
  private static String activeKey(String line, java.util.Set<String> a, java.util.Set<String> b) {
    for (java.util.Set<String> keys : List.of(a, b)) {
      for (String key : keys) {
        if (isKey(line, key)) {
          return key;
        }
      }
    }
    return null;
  }

  /**
   * A value as {@link java.util.Properties#load} reads it back: backslashes doubled, line breaks and tabs escaped, a
   * leading blank kept, anything outside printable ASCII as a Unicode escape (the file may be read as ISO-8859-1 or
   * UTF-8).
   */
  static String escape(String value) {
    StringBuilder b = new StringBuilder(value.length() + 8);
    for (int i = 0; i < value.length(); i++) {
      char ch = value.charAt(i);
      switch (ch) {
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '\f' -> b.append("\\f");
        case ' ' -> b.append(i == 0 ? "\\ " : " ");
        default -> {
          if (ch < 0x20 || ch > 0x7e) {
            b.append(String.format("\\u%04x", (int) ch));
          } else {
            b.append(ch);
          }
        }
      }
    }
    return b.toString();
  }

  /**
   * The value of {@code key} as Bitbucket reads it (escapes such as {@code jdbc\:postgresql}, which Java's own
   * {@code Properties.store} writes, undone; the last of several lines wins), or null.
   */
  public static String get(Path home, String key) {
    Path file = home.resolve(RELATIVE_PATH);
    try {
      if (!Files.exists(file)) {
        return null;
      }
      java.util.Properties p = new java.util.Properties();
      try (var reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(reader);
      }
      String value = p.getProperty(key);
      return value == null ? null : value.strip();
    } catch (IOException | IllegalArgumentException e) {
      throw SnapstashException.storage("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static boolean isKey(String line, String key) {
    String t = line.strip();
    if (t.startsWith("#") || t.startsWith("!") || !t.startsWith(key)) {
      return false;
    }
    String rest = t.substring(key.length()).stripLeading();
    return rest.startsWith("=") || rest.startsWith(":");
  }
}
