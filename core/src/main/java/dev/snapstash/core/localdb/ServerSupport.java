package dev.snapstash.core.localdb;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** What both private servers need: ports, passwords, private files, waiting, the log's tail. */
final class ServerSupport {
  static final String HOST = "127.0.0.1";
  static final Duration START_DEADLINE = Duration.ofSeconds(90);
  static final Duration STOP_DEADLINE = Duration.ofSeconds(60);
  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

  private ServerSupport() {}

  static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | UnsupportedOperationException e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  /** A port that was free a moment ago on 127.0.0.1. Callers retry once if someone else takes it meanwhile. */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new SnapstashException(ErrorKind.STORAGE, "cannot find a free TCP port on 127.0.0.1: " + e.getMessage(), e);
    }
  }

  static String newPassword() {
    StringBuilder b = new StringBuilder(28);
    for (int i = 0; i < 28; i++) {
      b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return b.toString();
  }

  static void requireIdentifier(String what, String value) {
    if (value == null || !IDENTIFIER.matcher(value).matches()) {
      throw new IllegalArgumentException(what + " must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*), got " + value);
    }
  }

  /** Writes a file readable by its owner only; it never exists with wider permissions, even for a moment. */
  static void writePrivate(Path file, String content) {
    try {
      Files.deleteIfExists(file);
      Files.createFile(file, PosixFilePermissions.asFileAttribute(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)));
      Files.writeString(file, content, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
    } catch (FileAlreadyExistsException e) {
      throw new SnapstashException(ErrorKind.STORAGE, "cannot create " + file + ": it appeared while being created", e);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  static String readPassword(Path file, String kind, Path dataDir) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw SnapstashException.precondition(
          dataDir + " holds a " + kind + " data directory without its superuser password file " + file.getFileName()
              + ", so it was not made by snapstash; use an empty directory instead");
    }
  }

  /** A private (0700) temporary directory for files holding secrets. */
  static Path privateTempDir(String prefix) {
    try {
      return Files.createTempDirectory(prefix, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create a temporary directory: " + e.getMessage(), e);
    }
  }

  static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static boolean isEmptyOrMissing(Path dir) {
    if (!Files.exists(dir)) {
      return true;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      throw SnapstashException.storage("cannot read directory " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The last {@code n} lines of a log file, for error messages; empty if it cannot be read. */
  static String tail(Path file, int n) {
    if (file == null || !Files.isReadable(file)) {
      return "";
    }
    Deque<String> last = new ArrayDeque<>();
    try (Stream<String> lines = Files.lines(file, StandardCharsets.UTF_8)) {
      lines.forEach(
          l -> {
            last.addLast(l);
            if (last.size() > n) {
              last.removeFirst();
            }
          });
    } catch (IOException | UncheckedIOException e) {
      return "";
    }
    return String.join("\n", last);
  }

  static String tails(List<Path> files, int n) {
    StringBuilder b = new StringBuilder();
    for (Path f : files) {
      String t = tail(f, n);
      if (!t.isBlank()) {
        b.append("\n--- last lines of ").append(f).append(" ---\n").append(t);
      }
    }
    return b.toString();
  }

  static Connection connect(String url, String user, String password, int timeoutSeconds) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("password", password);
    if (url.startsWith("jdbc:postgresql:")) {
      p.setProperty("connectTimeout", Integer.toString(timeoutSeconds));
      p.setProperty("loginTimeout", Integer.toString(timeoutSeconds));
    } else {
      p.setProperty("connectTimeout", Integer.toString(timeoutSeconds * 1000));
    }
    return DriverManager.getConnection(url, p);
  }

  static boolean alive(long pid) {
    return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /** Waits until the process is gone; true if it went within the deadline. */
  static boolean awaitExit(long pid, Duration deadline) {
    long end = System.nanoTime() + deadline.toNanos();
    long pause = 10;
    while (alive(pid)) {
      if (System.nanoTime() > end) {
        return false;
      }
      sleep(pause);
      pause = Math.min(pause * 2, 200);
    }
    return true;
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while waiting for a database server", e);
    }
  }

  /** Whether a process's executable name is {@code name} (or the pid is alive but its command is unknown). */
  static boolean isProgram(long pid, String name) {
    return ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .map(h -> h.info().command().map(c -> c.endsWith("/" + name) || c.equals(name)).orElse(true))
        .orElse(false);
  }
}
