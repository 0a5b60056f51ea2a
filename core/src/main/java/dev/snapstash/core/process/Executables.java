package dev.snapstash.core.process;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finds programs on {@code PATH} without running anything, so that {@code check} can say "pg_dump not found"
 * before a run and strategies can choose between alternatives ({@code mariadb-dump} or {@code mysqldump}).
 */
public final class Executables {
  private Executables() {}

  /** The first executable file called {@code name} in {@code PATH}, or empty. */
  public static Optional<Path> find(String name) {
    return find(name, List.of());
  }

  /**
   * The first executable {@code name} in {@code firstDirs}, then in {@code PATH}. A name containing '/' is taken
   * as a path and returned if it is executable.
   */
  public static Optional<Path> find(String name, List<Path> firstDirs) {
    if (name.contains("/")) {
      Path p = Path.of(name);
      return isExecutable(p) ? Optional.of(p) : Optional.empty();
    }
    List<Path> dirs = new ArrayList<>(firstDirs);
    String path = System.getenv("PATH");
    if (path != null) {
      for (String d : path.split(File.pathSeparator)) {
        if (!d.isEmpty()) {
          dirs.add(Path.of(d));
        }
      }
    }
    for (Path d : dirs) {
      Path p = d.resolve(name);
      if (isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** The first of {@code names} found by {@link #find(String)}. */
  public static Optional<Path> findFirst(String... names) {
    for (String n : names) {
      Optional<Path> p = find(n);
      if (p.isPresent()) {
        return p;
      }
    }
    return Optional.empty();
  }

  private static boolean isExecutable(Path p) {
    return Files.isRegularFile(p) && Files.isExecutable(p);
  }
}
