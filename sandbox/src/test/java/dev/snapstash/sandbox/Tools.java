package dev.snapstash.sandbox;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/** Skips a test when a tool is missing, unless {@code snapstash.requireAll=true} (CI), where it fails instead. */
final class Tools {
  private Tools() {}

  static boolean requireAll() {
    return Boolean.getBoolean("snapstash.requireAll");
  }

  static void require(boolean present, String reason) {
    if (requireAll()) {
      Assertions.assertTrue(present, reason + " (required because snapstash.requireAll=true)");
    } else {
      Assumptions.assumeTrue(present, reason);
    }
  }

  static boolean onPath(String program) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) {
        return true;
      }
    }
    return false;
  }

  static void requireGit() {
    require(onPath("git"), "git is not installed");
    require(Files.isExecutable(Path.of("/usr/lib/git-core/git-http-backend")), "git http-backend is not installed");
  }
}
