package dev.snapstash.testing;

import dev.snapstash.core.process.Executables;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Finds the external programs tests need. A missing one skips the test with a clear reason, unless the system
 * property {@value #REQUIRE_ALL} is true (CI sets it), in which case the test fails: CI must not pass by skipping.
 */
public final class Tools {
  public static final String REQUIRE_ALL = "snapstash.requireAll";
  private static final List<Path> EXTRA = List.of(Path.of("/usr/sbin"), Path.of("/usr/lib/postgresql/15/bin"));

  private Tools() {}

  /** The program's path, or skips/fails the test. */
  public static Path require(String program) {
    return Executables.find(program, EXTRA).orElseGet(() -> missing(program + " is not installed"));
  }

  /** Skips (or, with {@value #REQUIRE_ALL}, fails) unless {@code available}. */
  public static void requireThat(boolean available, String reasonIfNot) {
    if (!available) {
      missing(reasonIfNot);
    }
  }

  /** Whether missing tools fail rather than skip. */
  public static boolean requireAll() {
    return Boolean.parseBoolean(System.getProperty(REQUIRE_ALL, "false"));
  }

  private static <T> T missing(String reason) {
    if (requireAll()) {
      return Assertions.fail(reason + " (" + REQUIRE_ALL + "=true, so this fails instead of skipping)");
    }
    Assumptions.abort(reason + "; skipping (set -D" + REQUIRE_ALL + "=true to make this a failure)");
    return null;
  }
}
