package dev.snapstash.strategy.database;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Finds a database's client tools (pg_dump and pg_restore; mariadb-dump or mysqldump, mariadb or mysql) and asks
 * each its version, for the PostgreSQL and MySQL strategies alike: in the configured directory when there is one,
 * so that a client matching a newer server can sit beside the system's, else on {@code PATH}.
 *
 * <p>A program's answer to {@code --version} is kept while its file stays the same (real path, inode, size and
 * modification time): a backup's preflight asks pg_dump, and its preparation a few seconds later would otherwise
 * spend another {@code --version} (tens of milliseconds) just before the lock. A program replaced in between is
 * asked again. Safe for use by several threads.
 */
public final class ClientTools {
  private static final Duration VERSION_TIMEOUT = Duration.ofSeconds(30);

  /**
   * A program found and asked its version.
   *
   * @param version what it printed for {@code --version}, stripped
   */
  public record Tool(Path path, String version) {}

  /** What identifies a program file's content without reading it. */
  private record Identity(Path realPath, Object fileKey, long size, FileTime modified) {}

  private final ProcessRunner runner;
  private final Optional<Path> binDir;
  private final List<Path> path;
  private final String install;
  private final ConcurrentMap<Identity, String> versions = new ConcurrentHashMap<>();

  /**
   * @param binDir the only directory searched, when set
   * @param path the directories searched otherwise, in order
   * @param install how to get the tools, for the sentence that says one is missing ("install postgresql-client or
   *     set database.postgresql.bin-dir")
   */
  public ClientTools(ProcessRunner runner, Optional<Path> binDir, List<Path> path, String install) {
    this.runner = runner;
    this.binDir = binDir;
    this.path = List.copyOf(path);
    this.install = install;
  }

  /** Tools in {@code binDir} when set, else on this process's {@code PATH}. */
  public static ClientTools onPath(ProcessRunner runner, Optional<Path> binDir, String install) {
    List<Path> dirs = new ArrayList<>();
    String path = System.getenv("PATH");
    if (path != null) {
      for (String d : path.split(File.pathSeparator)) {
        if (!d.isEmpty()) {
          dirs.add(Path.of(d));
        }
      }
    }
    return new ClientTools(runner, binDir, dirs, install);
  }

  /** {@code program --version}, its output kept. */
  public static Command versionCommand(String program) {
    return Command.of(program, "--version").capturingStdout().withTimeout(VERSION_TIMEOUT);
  }

  /**
   * The first of {@code names} that is an executable file, each looked for in every directory before the next
   * name is (mariadb-dump anywhere on PATH before mysqldump); empty when there is none. Runs nothing.
   */
  public Optional<Path> find(String... names) {
    List<Path> dirs = binDir.map(List::of).orElse(path);
    for (String name : names) {
      for (Path dir : dirs) {
        Path p = dir.resolve(name);
        if (Files.isRegularFile(p) && Files.isExecutable(p)) {
          return Optional.of(p);
        }
      }
    }
    return Optional.empty();
  }

  /** The one sentence for none of {@code names} found: "pg_dump is not installed (not on PATH); install …". */
  public String notInstalled(String... names) {
    StringBuilder b = new StringBuilder(names[0]);
    for (int i = 1; i < names.length; i++) {
      b.append(" (or ").append(names[i]).append(")");
    }
    b.append(" is not installed").append(binDir.map(d -> " in " + d).orElse(" (not on PATH)"));
    return b.append("; ").append(install).toString();
  }

  /**
   * The first of {@code names} found.
   *
   * @throws SnapstashException (PRECONDITION) saying that none is installed and how to install one
   */
  public Path require(String... names) {
    return find(names).orElseThrow(() -> SnapstashException.precondition(notInstalled(names)));
  }

  /**
   * {@code program}'s version, asked with {@code --version} unless this file was asked before.
   *
   * @throws SnapstashException (EXTERNAL_COMMAND) when it cannot say
   */
  public Tool ask(Path program) {
    Optional<Identity> id = identity(program);
    String known = id.map(versions::get).orElse(null);
    if (known != null) {
      return new Tool(program, known);
    }
    String version = runner.run(versionCommand(program.toString())).stdout().strip();
    id.ifPresent(i -> versions.put(i, version));
    return new Tool(program, version);
  }

  /** Empty when the file cannot be read as one (it vanished): it is then asked every time. */
  private static Optional<Identity> identity(Path program) {
    try {
      Path real = program.toRealPath();
      BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
      return Optional.of(new Identity(real, a.fileKey(), a.size(), a.lastModifiedTime()));
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
