package dev.snapstash.core.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them in configuration: {@code 100ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 2d},
 * combinations such as {@code 1h30m}, and ISO-8601 ({@code PT5M}, {@code P1DT2H}).
 */
public final class Durations {
  private static final Pattern WHOLE = Pattern.compile("(?:\\d+(?:ms|s|m|h|d))+");
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private Durations() {}

  /**
   * Parses a duration.
   *
   * @throws IllegalArgumentException if the text is not a duration; the message is a phrase like "is not a
   *     duration like 30s, 5m or 1h" meant to follow the quoted value
   */
  public static Duration parse(String text) {
    String s = text == null ? "" : text.strip();
    if (!s.isEmpty() && (s.charAt(0) == 'P' || s.charAt(0) == 'p')) {
      try {
        return Duration.parse(s.toUpperCase(Locale.ROOT));
      } catch (DateTimeParseException | ArithmeticException e) {
        throw new IllegalArgumentException("is not a duration like 30s, 5m or 1h (or ISO-8601 like PT5M)");
      }
    }
    if (!WHOLE.matcher(s).matches()) {
      throw new IllegalArgumentException("is not a duration like 30s, 5m or 1h");
    }
    try {
      Duration total = Duration.ZERO;
      Matcher m = PART.matcher(s);
      while (m.find()) {
        long n = Long.parseLong(m.group(1));
        total =
            total.plus(
                switch (m.group(2)) {
                  case "ms" -> Duration.ofMillis(n);
                  case "s" -> Duration.ofSeconds(n);
                  case "m" -> Duration.ofMinutes(n);
                  case "h" -> Duration.ofHours(n);
                  default -> Duration.ofDays(n);
                });
      }
      return total;
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("is too long a duration");
    }
  }

  /**
   * Formats a duration the way {@link #parse} reads it, largest unit first ({@code 1h30m}, {@code 100ms}). Negative
   * durations and those with sub-millisecond parts are written in ISO-8601, so {@code parse(format(d))} equals
   * {@code d} for every duration.
   */
  public static String format(Duration d) {
    if (d.isNegative() || d.getNano() % 1_000_000 != 0) {
      return d.toString();
    }
    if (d.isZero()) {
      return "0s";
    }
    StringBuilder b = new StringBuilder();
    long seconds = d.getSeconds();
    append(b, seconds / 86_400, "d");
    append(b, seconds % 86_400 / 3_600, "h");
    append(b, seconds % 3_600 / 60, "m");
    append(b, seconds % 60, "s");
    append(b, d.getNano() / 1_000_000, "ms");
    return b.toString();
  }

  private static void append(StringBuilder b, long n, String unit) {
    if (n != 0) {
      b.append(n).append(unit);
    }
  }
}
