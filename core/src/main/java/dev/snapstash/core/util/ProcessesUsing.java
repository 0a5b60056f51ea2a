package dev.snapstash.core.util;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which live processes hold files open inside a directory, read from {@code /proc} the way {@code lsof +D} does. A
 * Bitbucket that runs on a home holds its logs, caches and repositories open there even when its {@code .lock}
 * file is gone, and a stale {@code .lock} says nothing about a live process; this says which one. A working
 * directory alone does not count: the operator's shell may well sit in the home it restores into.
 *
 * <p>Processes of other users are visible only as root; an unreadable entry is skipped. Outside Linux the answer
 * is empty.
 */
public final class ProcessesUsing {
  /** A process found working in the directory. */
  public record Holder(long pid, String command, Path path) {}

  private ProcessesUsing() {}

  /** The live processes, other than this one and its ancestors, with an open file below {@code dir}. */
  public static List<Holder> directory(Path dir) {
    Path proc = Path.of("/proc");
    List<Holder> found = new ArrayList<>();
    if (!Files.isDirectory(proc)) {
      return found;
    }
    Path target = real(dir);
    java.util.Set<Long> ours = new java.util.HashSet<>();
    for (Optional<ProcessHandle> h = Optional.of(ProcessHandle.current()); h.isPresent(); h = h.get().parent()) {
      ours.add(h.get().pid());
    }
    try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc, p -> p.getFileName().toString().matches("\\d+"))) {
      for (Path p : pids) {
        long pid = Long.parseLong(p.getFileName().toString());
        if (ours.contains(pid)) {
          continue;
        }
        using(p, target).ifPresent(path -> found.add(new Holder(pid, command(p), path)));
      }
    } catch (IOException e) {
      return found;
    }
    return found;
  }

  private static Optional<Path> using(Path procPid, Path target) {
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(procPid.resolve("fd"))) {
      for (Path fd : fds) {
        Optional<Path> open = link(fd).filter(p -> p.startsWith(target));
        if (open.isPresent()) {
          return open;
        }
      }
    } catch (IOException | SecurityException e) {
      // another user's process (not root), or it exited while we looked
    }
    return Optional.empty();
  }

  private static Optional<Path> link(Path p) {
    try {
      String s = Files.readSymbolicLink(p).toString();
      // sockets, pipes and anonymous inodes read as "socket:[123]" and the like: not paths
      return s.startsWith("/") ? Optional.of(Path.of(s.endsWith(" (deleted)") ? s.substring(0, s.length() - 10) : s)) : Optional.empty();
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return Optional.empty();
    }
  }

  private static String command(Path procPid) {
    try {
      return Files.readString(procPid.resolve("comm")).strip();
    } catch (IOException e) {
      return "?";
    }
  }

  private static Path real(Path dir) {
    try {
      return dir.toRealPath();
    } catch (IOException e) {
      return dir.toAbsolutePath().normalize();
    }
  }
}
