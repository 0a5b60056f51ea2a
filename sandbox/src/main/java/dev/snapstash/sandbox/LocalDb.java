package dev.snapstash.sandbox;

import dev.snapstash.core.localdb.LocalDatabaseServer;
import dev.snapstash.core.localdb.MariaDbServer;
import dev.snapstash.core.localdb.PostgresServer;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The private database server a sandbox runs for itself when {@code --db postgresql|mariadb} comes without {@code
 * --jdbc-url}: core's {@code localdb} server in {@code DIR/pgdata} or {@code DIR/mariadb}, holding database {@value
 * #DATABASE} owned by user {@value #USER} (password in {@code DIR/db-password}). The foreground sandbox owns it:
 * starts it, and stops it when it stops; {@code sandbox stop} also stops one left behind by a killed sandbox.
 */
final class LocalDb {
  static final String DATABASE = "bitbucket";
  static final String USER = "bitbucket";
  private static final Logger log = LoggerFactory.getLogger(LocalDb.class);

  private LocalDb() {}

  static Path dataDir(DbKind kind, SandboxLayout l) {
    return switch (kind) {
      case POSTGRESQL -> l.pgData();
      case MARIADB -> l.mariaDbData();
      case H2 -> throw new IllegalArgumentException("H2 is embedded, not a server");
    };
  }

  /**
   * Starts (or adopts, if one already runs there) the server in {@code dataDir}, on {@code preferredPort} when that
   * is free, else on any free port, and makes sure the sandbox's database and user exist with this password.
   */
  static LocalDatabaseServer start(DbKind kind, Path dataDir, Integer preferredPort, String password,
      ProcessRunner runner) {
    Optional<LocalDatabaseServer> already = running(kind, dataDir, runner);
    // A server left running (its sandbox was killed) keeps its port; otherwise the previous port if it is free.
    int port = already.isPresent() ? already.get().port()
        : preferredPort != null && preferredPort > 0 && isFree(preferredPort) ? preferredPort : 0;
    LocalDatabaseServer server = switch (kind) {
      case POSTGRESQL -> PostgresServer.start(dataDir, port, runner);
      case MARIADB -> MariaDbServer.start(dataDir, port, runner);
      case H2 -> throw new IllegalArgumentException("H2 is embedded, not a server");
    };
    try {
      server.createDatabase(DATABASE, USER, password);
    } catch (RuntimeException e) {
      stopQuietly(server);
      throw e;
    }
    log.info("private {} server on {}:{} in {}", kind.optionValue(), server.host(), server.port(), dataDir);
    return server;
  }

  /** The server running in {@code dataDir}, if any. Never throws: a missing installation means none runs. */
  static Optional<LocalDatabaseServer> running(DbKind kind, Path dataDir, ProcessRunner runner) {
    if (dataDir == null || !Files.isDirectory(dataDir)) {
      return Optional.empty();
    }
    try {
      return switch (kind) {
        case POSTGRESQL -> PostgresServer.running(dataDir, runner).map(s -> s);
        case MARIADB -> MariaDbServer.running(dataDir, runner).map(s -> s);
        case H2 -> Optional.empty();
      };
    } catch (RuntimeException e) {
      log.debug("cannot tell whether a {} server runs in {}", kind.optionValue(), dataDir, e);
      return Optional.empty();
    }
  }

  /** The private server of this sandbox state, if it has one and it is running. */
  static Optional<LocalDatabaseServer> running(SandboxState s, ProcessRunner runner) {
    if (s == null || !s.dbLocal() || s.dbDataDir() == null || s.db() == DbKind.H2) {
      return Optional.empty();
    }
    return running(s.db(), Path.of(s.dbDataDir()), runner);
  }

  /**
   * The processes of this state's private server, if it runs: the server, its children, and its parents up to
   * (not including) the sandbox that started it, by way of the server's pid file.
   */
  static java.util.Set<Long> serverProcesses(SandboxState s) {
    if (s == null || !s.dbLocal() || s.dbDataDir() == null || s.db() == DbKind.H2) {
      return java.util.Set.of();
    }
    Path pidFile = Path.of(s.dbDataDir()).resolve(s.db() == DbKind.POSTGRESQL ? "postmaster.pid" : MariaDbServer.PID_FILE);
    long pid;
    try {
      pid = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
    } catch (IOException | RuntimeException e) {
      return java.util.Set.of();
    }
    java.util.Set<Long> family = new java.util.HashSet<>();
    Optional<ProcessHandle> server = ProcessHandle.of(pid);
    server.ifPresent(h -> h.descendants().forEach(d -> family.add(d.pid())));
    for (Optional<ProcessHandle> p = server; p.isPresent() && p.get().pid() != s.pid(); p = p.get().parent()) {
      family.add(p.get().pid());
    }
    return family;
  }

  static void stopQuietly(LocalDatabaseServer server) {
    if (server == null) {
      return;
    }
    try {
      server.stop();
    } catch (RuntimeException e) {
      log.warn("could not stop {}: {}", server, e.getMessage());
    }
  }

  /** Whether this JVM runs as root (PostgreSQL then runs as the postgres user, who must enter the directory). */
  static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | UnsupportedOperationException | ClassCastException e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  private static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
