package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.util.ListLines;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code home.index} beside a backup's {@code home/}: for each directory of the live home whose copy in the backup
 * the digest vouches for, the {@link HomeChangeTracker#digests() digest} its walk took. The next backup, starting
 * from a snapshot of this one, walks the home anyway to watch it; a directory whose digest is the same holds the
 * same entries with the same inodes and change times, so its copy needs no rsync at all, and the pre-copy visits
 * only the directories that differ instead of comparing the whole home.
 *
 * <p>Only an optimisation: a missing or unreadable index makes the next pre-copy compare the whole home, as it
 * always could.
 */
final class HomeIndex {
  static final String FILE = "home.index";
  private static final String HEADER = "# snapstash home index 1";

  private HomeIndex() {}

  /** The digests of {@code backupDir}'s index by directory (relative to the home, "" for the home); empty if none. */
  static Optional<Map<String, String>> read(Path backupDir) {
    Path f = backupDir.resolve(FILE);
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    Map<String, String> out = new HashMap<>();
    try (BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
      if (!HEADER.equals(r.readLine())) {
        return Optional.empty();
      }
      for (String l = r.readLine(); l != null; l = r.readLine()) {
        Optional<ListLines.Entry> e = ListLines.parse(l, 64);
        if (e.isEmpty()) {
          return Optional.empty(); // damaged: trust none of it
        }
        String path = e.get().path();
        out.put(path.equals(".") ? "" : path, e.get().hex());
      }
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
    return Optional.of(out);
  }

  /**
   * Writes the index of a backup: every digest taken by its walk, except {@link HomeChangeTracker#UNKNOWN} ones and
   * those of directories that changed while it ran ({@code changed}) or lie in a subtree that appeared meanwhile
   * ({@code newSubtrees}). Returns how many directories it lists.
   */
  static int write(Path backupDir, Map<String, String> digests, Set<String> changed, Set<String> newSubtrees)
      throws IOException {
    Map<String, String> kept = new TreeMap<>();
    digests.forEach((dir, digest) -> {
      if (!digest.equals(HomeChangeTracker.UNKNOWN) && !changed.contains(dir) && !inAny(dir, newSubtrees)) {
        kept.put(dir, digest);
      }
    });
    Path tmp = backupDir.resolve(FILE + ".tmp");
    try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
      w.write(HEADER + "\n");
      for (Map.Entry<String, String> e : kept.entrySet()) {
        w.write(ListLines.line(e.getValue(), e.getKey().isEmpty() ? "." : e.getKey()));
      }
    }
    Files.move(tmp, backupDir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return kept.size();
  }

  /** Whether {@code dir} is one of {@code trees} or inside one. */
  static boolean inAny(String dir, Set<String> trees) {
    if (trees.isEmpty()) {
      return false;
    }
    if (trees.contains("") || trees.contains(dir)) {
      return true;
    }
    for (int slash = dir.indexOf('/'); slash > 0; slash = dir.indexOf('/', slash + 1)) {
      if (trees.contains(dir.substring(0, slash))) {
        return true;
      }
    }
    return false;
  }
}
