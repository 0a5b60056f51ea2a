package dev.snapstash.core.util;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one switch over snapstash's native fast paths: inotify and the directory listing through the C library, and
 * SHA-256 through libcrypto. Each has a Java fallback that gives the same results, only slower; {@code
 * -Dsnapstash.native=off} (in {@code SNAPSTASH_JAVA_OPTS}) or {@code SNAPSTASH_NATIVE=off} makes every one of them
 * take it, without loading JNA's native part or any library. For a platform JNA does not serve, a temporary
 * directory mounted {@code noexec}, or to tell whether a problem lies in a native path. {@code auto}, the default,
 * takes each native path where it loads and its fallback where it does not.
 *
 * <p>The JVM property wins over the variable, as a command line's option wins over the environment. The value is
 * read at each call (it is two lookups), so that a test can choose per case; each part asks once per use.
 */
public final class Natives {
  private Natives() {}

  private static final Logger log = LoggerFactory.getLogger(Natives.class);

  public static final String PROPERTY = "snapstash.native";
  public static final String VARIABLE = "SNAPSTASH_NATIVE";

  /** The parts that have logged their choice: each says once per process which path it took. */
  private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

  /**
   * Why every fallback is forced ({@code "SNAPSTASH_NATIVE=off"}), or empty when native paths may be tried.
   *
   * @throws SnapstashException (CONFIG) for a value that is neither {@code auto} nor {@code off}
   */
  public static Optional<String> forcedOff() {
    return forcedOff(System.getProperty(PROPERTY), System.getenv(VARIABLE));
  }

  /** {@link #forcedOff()} for the given property and variable values (null or blank: not set). */
  static Optional<String> forcedOff(String property, String variable) {
    if (property != null && !property.isBlank()) {
      return parse(property, "-D" + PROPERTY);
    }
    if (variable != null && !variable.isBlank()) {
      return parse(variable, VARIABLE);
    }
    return Optional.empty();
  }

  private static Optional<String> parse(String value, String where) {
    return switch (value.strip().toLowerCase(Locale.ROOT)) {
      case "auto" -> Optional.empty();
      case "off" -> Optional.of(where + "=off");
      default -> throw new SnapstashException(
          ErrorKind.CONFIG,
          where + "=" + value.strip() + " is not a valid value: set " + where
              + " to auto (native fast paths where they load, the default) or off (their Java fallbacks)");
    };
  }

  /**
   * Which path one fast path takes, and why: what {@code check} shows and a run logs once.
   *
   * @param part {@code inotify}, {@code listing} or {@code sha256}
   * @param path {@code native}, or the fallback's name ({@code JDK WatchService}, …)
   * @param why what decided it, as an administrator can act on it
   */
  public record Choice(String part, boolean nativePath, String path, String why) {
    /** {@code native (libcrypto.so.3)}, {@code JDK MessageDigest (SNAPSTASH_NATIVE=off)}. */
    public String describe() {
      return why.isEmpty() ? path : path + " (" + why + ")";
    }
  }

  /**
   * Logs, once per process and part, the path a run took: a fallback at INFO, since it is slower and an
   * administrator reading why a backup took longer should see it; the native path at DEBUG. Returns {@code choice}.
   */
  public static Choice took(Choice choice) {
    if (LOGGED.add(choice.part())) {
      if (choice.nativePath()) {
        log.debug("{}: {}", choice.part(), choice.describe());
      } else {
        log.info("{}: {}", choice.part(), choice.describe());
      }
    }
    return choice;
  }
}
