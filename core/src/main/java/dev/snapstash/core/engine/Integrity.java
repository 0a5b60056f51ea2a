package dev.snapstash.core.engine;

import dev.snapstash.core.spi.Artifact;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Checks a backup's files against what its manifest and {@code home.sha256} recorded. Reads only. */
public final class Integrity {
  private Integrity() {}

  /** Paths (relative to the backup directory) that are missing or do not match; empty when all is well. */
  public static List<String> damaged(Manifest m, Path backupDir, int threads) {
    List<String> bad = new ArrayList<>();
    List<Artifact> artifacts = new ArrayList<>();
    if (m.database() != null && m.database().artifacts() != null) {
      artifacts.addAll(m.database().artifacts());
    }
    if (m.home() != null && m.home().artifacts() != null) {
      artifacts.addAll(m.home().artifacts());
    }
    for (Artifact a : artifacts) {
      Path f = backupDir.resolve(a.path());
      try {
        if (!Files.isRegularFile(f)) {
          bad.add(a.path() + " (missing)");
        } else if (Files.size(f) != a.bytes() || !dev.snapstash.core.util.Digests.sha256(f).equals(a.sha256())) {
          bad.add(a.path());
        }
      } catch (IOException e) {
        bad.add(a.path() + " (unreadable)");
      }
    }
    if (Files.exists(backupDir.resolve(HomeChecksums.FILE))) {
      HomeChecksums.Check c = HomeChecksums.verify(backupDir, threads);
      c.mismatched().forEach(p -> bad.add("home/" + p));
      c.missing().forEach(p -> bad.add("home/" + p + " (missing)"));
    }
    return bad;
  }
}
