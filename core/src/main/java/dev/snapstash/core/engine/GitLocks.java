package dev.snapstash.core.engine;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Removes the Git lock files a copy of a live or crashed instance can carry, which would otherwise make pushes
 * fail after a restore: in every repository {@code HEAD}, {@code config}, {@code index}, {@code gc}, {@code
 * packed-refs} and {@code stash-packed-refs} with {@code .lock} or {@code .pid}, and every {@code *.lock} under
 * {@code refs/}, {@code stash-refs/} and {@code logs/}. Walked in Java, so unlike the DIY scripts' unquoted globs
 * these really expand, at any depth.
 */
public final class GitLocks {
  private static final Set<String> TOP =
      Set.of("HEAD", "config", "index", "gc", "packed-refs", "stash-packed-refs");
  private static final List<String> TREES = List.of("refs", "stash-refs", "logs");

  private GitLocks() {}

  /** Removes stale locks from every repository under {@code home}; returns the removed files, relative to home. */
  public static List<String> removeStale(Path home) {
    List<String> removed = new ArrayList<>();
    for (Path repo : repositories(home)) {
      for (String name : TOP) {
        for (String suffix : List.of(".lock", ".pid")) {
          delete(home, repo.resolve(name + suffix), removed);
        }
      }
      for (String tree : TREES) {
        Path t = repo.resolve(tree);
        if (!Files.isDirectory(t)) {
          continue;
        }
        try (Stream<Path> s = Files.walk(t)) {
          for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".lock") && Files.isRegularFile(p)).toList()) {
            delete(home, p, removed);
          }
        } catch (IOException e) {
          throw SnapstashException.storage("cannot scan " + t + ": " + e.getMessage(), e);
        }
      }
    }
    return removed;
  }

  /** Bare repositories below the home's repository stores: directories holding HEAD and objects/. */
  public static List<Path> repositories(Path home) {
    List<Path> repos = new ArrayList<>();
    for (Path store : List.of(home.resolve("shared/data/repositories"), home.resolve("data/repositories"))) {
      if (!Files.isDirectory(store)) {
        continue;
      }
      try {
        Files.walkFileTree(
            store,
            new SimpleFileVisitor<>() {
              @Override
              public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                if (Files.isRegularFile(dir.resolve("HEAD")) && Files.isDirectory(dir.resolve("objects"))) {
                  repos.add(dir);
                  return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
              }
            });
      } catch (IOException e) {
        throw SnapstashException.storage("cannot scan " + store + ": " + e.getMessage(), e);
      }
    }
    repos.sort(null);
    return repos;
  }

  private static void delete(Path home, Path file, List<String> removed) {
    try {
      if (Files.deleteIfExists(file)) {
        removed.add(home.relativize(file).toString());
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot remove stale lock " + file + ": " + e.getMessage(), e);
    }
  }
}
