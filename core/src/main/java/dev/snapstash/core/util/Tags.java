package dev.snapstash.core.util;

import dev.snapstash.core.error.SnapstashException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.regex.Pattern;

/**
 * Backup tags: {@code <instance-name>-<yyyyMMdd-HHmmss>}, in UTC so that tags sort chronologically across
 * daylight-saving changes and hosts in different zones.
 */
public final class Tags {
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
  /**
   * Not starting with a dot (the store's own working directories, such as {@code .removing-<tag>}, start with one
   * and are never backups) nor with a dash (a tag on a command line would read as an option).
   */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,98}");

  private Tags() {}

  public static String tag(String instanceName, Instant at) {
    validateName(instanceName);
    return instanceName + "-" + STAMP.format(at);
  }

  /** The DIY scripts' rule (no spaces, under 100 characters), narrowed to characters safe in paths and tags. */
  public static void validateName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw SnapstashException.config(
          "instance.name '" + name + "' must be 1 to 99 characters of letters, digits, '.', '_' or '-', without"
              + " spaces, and start with a letter, a digit or '_'");
    }
  }

  /** Whether {@code tag} looks like one of this instance's tags. */
  public static boolean belongsTo(String tag, String instanceName) {
    return tag.startsWith(instanceName + "-") && tag.length() == instanceName.length() + 16;
  }
}
