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
    Path file = home.resolve(RELATIVE_PATH);
    try {
      List<String> lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
      List<String> out = new ArrayList<>();
      boolean written = false;
      for (String line : lines) {
        if (isKey(line, key)) {
          out.add(written ? "# " + line + "  (superseded below by snapstash)" : key + "=" + value);
          written = true;
        } else {
          out.add(line);
        }
      }
      if (!written) {
        out.add("# " + why);
        out.add(key + "=" + value);
      }
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".snapstash-tmp");
      Files.write(tmp, out, StandardCharsets.UTF_8);
      if (Files.exists(file)) {
        Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(file));
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot update " + file + ": " + e.getMessage(), e);
    }
  }

  /** The active value of {@code key}, or null. */
  public static String get(Path home, String key) {
    Path file = home.resolve(RELATIVE_PATH);
    try {
      if (!Files.exists(file)) {
        return null;
      }
      String value = null;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (isKey(line, key)) {
          value = line.substring(line.indexOf(line.contains("=") ? '=' : ':') + 1).strip();
        }
      }
      return value;
    } catch (IOException e) {
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
