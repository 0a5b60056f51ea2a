package dev.snapstash.core.localdb;

import static dev.snapstash.core.localdb.ServerSupport.HOST;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.Executables;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private PostgreSQL cluster: {@code initdb} on first use, then {@code postgres} started detached on 127.0.0.1.
 *
 * <p>When this JVM runs as root, the server runs as the {@code postgres} system user (PostgreSQL refuses root):
 * the data directory is then owned by that user and every directory above it must be enterable by it. TCP and
 * socket connections need a password (scram-sha-256); the superuser's password is generated at {@code initdb}
 * and kept in {@value #PASSWORD_FILE} (mode 0600) inside the data directory. The socket lives in the data
 * directory (or is disabled when that path is too long for a socket).
 *
 * <p>Layout of {@link #dataDir()}: the cluster itself, plus {@value #PASSWORD_FILE} and {@value #LOG_FILE}.
 */
public final class PostgresServer implements LocalDatabaseServer {
  public static final String PASSWORD_FILE = "snapstash-superuser.pw";
  public static final String LOG_FILE = "snapstash-server.log";
  private static final Logger log = LoggerFactory.getLogger(PostgresServer.class);
  private static final String SUPERUSER = "postgres";
  private static final String OS_USER = "postgres";
  private static final int SOCKET_PATH_MAX = 107;

  private final Path dataDir;
  private final Path binDir;
  private final int port;
  private final String password;
  private final ProcessRunner runner;
  private final boolean asRoot;
  private final long spawnedPid;

  private PostgresServer(Path dataDir, Path binDir, int port, String password, ProcessRunner runner, long spawnedPid) {
    this.dataDir = dataDir;
    this.binDir = binDir;
    this.port = port;
    this.password = password;
    this.runner = runner;
    this.asRoot = ServerSupport.isRoot();
    this.spawnedPid = spawnedPid;
  }

  /** Starts a durable server; see {@link #start(Path, int, ProcessRunner, boolean)}. */
  public static PostgresServer start(Path dataDir, int port, ProcessRunner runner) {
    return start(dataDir, port, runner, true);
  }

  /**
   * Starts the server in {@code dataDir}, creating the cluster when the directory is missing or empty and reusing
   * it otherwise, and returns once it accepts connections. If a server already runs there on the requested port
   * (or any port, for 0), returns that one.
   *
   * @param port the TCP port, or 0 for a free one
   * @param durable false turns fsync off: for tests and scratch databases whose loss in an OS crash is harmless
   * @throws SnapstashException PRECONDITION for an unusable directory, EXTERNAL_COMMAND if the server does not
   *     come up (with the last lines of its log)
   */
  public static PostgresServer start(Path dataDir, int port, ProcessRunner runner, boolean durable) {
    Path dir = dataDir.toAbsolutePath().normalize();
    Path bin = requireBinDir();
    Optional<PostgresServer> existing = running(dir, runner);
    if (existing.isPresent()) {
      if (port == 0 || port == existing.get().port()) {
        return existing.get();
      }
      throw SnapstashException.precondition(
          "PostgreSQL already runs in " + dir + " on port " + existing.get().port() + ", not " + port + "; stop it first");
    }
    boolean root = ServerSupport.isRoot();
    if (root) {
      requireEnterable(dir);
    }
    if (ServerSupport.isEmptyOrMissing(dir)) {
      initdb(dir, bin, runner, root, durable);
    } else if (!Files.exists(dir.resolve("PG_VERSION"))) {
      throw SnapstashException.precondition(dir + " is neither empty nor a PostgreSQL data directory; use an empty directory");
    }
    String pw = ServerSupport.readPassword(dir.resolve(PASSWORD_FILE), "PostgreSQL", dir);
    int attempts = port == 0 ? 3 : 1;
    for (int i = 1; ; i++) {
      int p = port == 0 ? ServerSupport.freePort() : port;
      try {
        return launch(dir, bin, p, pw, runner, root, durable);
      } catch (PortTaken e) {
        if (i >= attempts) {
          throw new SnapstashException(ErrorKind.PRECONDITION, "port " + p + " on 127.0.0.1 is already in use; choose another port for the PostgreSQL server in " + dir);
        }
      }
    }
  }

  /** The server already running in {@code dataDir} (from its {@code postmaster.pid}), if any. */
  public static Optional<PostgresServer> running(Path dataDir, ProcessRunner runner) {
    Path dir = dataDir.toAbsolutePath().normalize();
    List<String> pidFile = readPidFile(dir);
    if (pidFile.size() < 4) {
      return Optional.empty();
    }
    long pid;
    int port;
    try {
      pid = Long.parseLong(pidFile.get(0).strip());
      port = Integer.parseInt(pidFile.get(3).strip());
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    if (!ServerSupport.isProgram(pid, "postgres")) {
      return Optional.empty();
    }
    String pw = ServerSupport.readPassword(dir.resolve(PASSWORD_FILE), "PostgreSQL", dir);
    return Optional.of(new PostgresServer(dir, requireBinDir(), port, pw, runner, -1));
  }

  /**
   * Where the server programs ({@code initdb}, {@code postgres}, {@code pg_ctl}) are: {@code PATH} if it has
   * them, else the newest {@code /usr/lib/postgresql/<major>/bin} (Debian and Ubuntu keep them there).
   */
  public static Optional<Path> findBinDir() {
    Optional<Path> onPath = Executables.find("initdb");
    if (onPath.isPresent() && Files.isExecutable(onPath.get().resolveSibling("postgres"))) {
      return Optional.of(onPath.get().getParent());
    }
    Path lib = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(lib)) {
      return Optional.empty();
    }
    try (Stream<Path> s = Files.list(lib)) {
      return s.filter(d -> d.getFileName().toString().matches("\\d+(\\.\\d+)?"))
          .filter(d -> Files.isExecutable(d.resolve("bin/initdb")) && Files.isExecutable(d.resolve("bin/postgres")))
          .max(Comparator.comparingDouble(d -> Double.parseDouble(d.getFileName().toString())))
          .map(d -> d.resolve("bin"));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  @Override
  public String kind() {
    return "postgresql";
  }

  @Override
  public String host() {
    return HOST;
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public Path dataDir() {
    return dataDir;
  }

  @Override
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://" + HOST + ":" + port + "/" + database;
  }

  @Override
  public String superuser() {
    return SUPERUSER;
  }

  @Override
  public Path superuserPasswordFile() {
    return dataDir.resolve(PASSWORD_FILE);
  }

  @Override
  public void createDatabase(String name, String user, String userPassword) {
    ServerSupport.requireIdentifier("database name", name);
    ServerSupport.requireIdentifier("user name", user);
    try (Connection c = ServerSupport.connect(jdbcUrl("postgres"), SUPERUSER, password, 10);
        Statement st = c.createStatement()) {
      String pw = "'" + userPassword.replace("'", "''") + "'";
      // Concurrent callers may race on CREATE ROLE/DATABASE; one wins, the other sees the duplicate and moves on.
      if (!exists(c, "SELECT 1 FROM pg_roles WHERE rolname = ?", user)) {
        try {
          st.execute("CREATE ROLE \"" + user + "\" LOGIN PASSWORD " + pw);
        } catch (SQLException e) {
          if (!"42710".equals(e.getSQLState())) {
            throw e;
          }
        }
      }
      st.execute("ALTER ROLE \"" + user + "\" LOGIN PASSWORD " + pw);
      if (!exists(c, "SELECT 1 FROM pg_database WHERE datname = ?", name)) {
        try {
          st.execute("CREATE DATABASE \"" + name + "\" OWNER \"" + user + "\" ENCODING 'UTF8' TEMPLATE template0");
        } catch (SQLException e) {
          if (!"42P04".equals(e.getSQLState())) {
            throw e;
          }
        }
      }
    } catch (SQLException e) {
      throw new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND, "cannot create database " + name + " on the private PostgreSQL server in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean isRunning() {
    long pid = postmasterPid();
    return pid > 0 && ServerSupport.isProgram(pid, "postgres");
  }

  @Override
  public void stop() {
    // Stopping must work on the way out of an interrupted run too: set the flag aside and restore it after.
    boolean interrupted = Thread.interrupted();
    try {
      stopServer();
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void stopServer() {
    long pid = postmasterPid();
    if (pid > 0 && ServerSupport.isProgram(pid, "postgres")) {
      try {
        runner.run(
            Command.of(asUser(List.of(binDir.resolve("pg_ctl").toString(), "stop", "-D", dataDir.toString(), "-m", "fast", "-w", "-t", "60")))
                .withTimeout(ServerSupport.STOP_DEADLINE.plusSeconds(30)));
      } catch (SnapstashException e) {
        log.warn("pg_ctl stop failed for {}, killing the server: {}", dataDir, e.getMessage());
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
      if (!ServerSupport.awaitExit(pid, ServerSupport.STOP_DEADLINE)) {
        throw new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "the PostgreSQL server in " + dataDir + " (pid " + pid + ") did not stop");
      }
    }
    // The runuser wrapper exits right after its child.
    ServerSupport.awaitExit(spawnedPid, Duration.ofSeconds(10));
  }

  @Override
  public String toString() {
    return "PostgreSQL on " + HOST + ":" + port + " in " + dataDir;
  }

  // ---------------------------------------------------------------------------------------------------------

  private static PostgresServer launch(Path dir, Path bin, int port, String pw, ProcessRunner runner, boolean root, boolean durable) {
    Path logFile = dir.resolve(LOG_FILE);
    long logStart = size(logFile);
    List<String> argv = new ArrayList<>(List.of(bin.resolve("postgres").toString(), "-D", dir.toString(), "-p", Integer.toString(port)));
    argv.addAll(List.of("-c", "listen_addresses=" + HOST));
    String socketDir = (dir + "/.s.PGSQL." + port).length() <= SOCKET_PATH_MAX ? dir.toString() : "";
    argv.addAll(List.of("-c", "unix_socket_directories=" + socketDir));
    if (!durable) {
      argv.addAll(List.of("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"));
    }
    long pid = runner.spawnDetached(Command.of(asUser(root, argv)), logFile);
    PostgresServer server = new PostgresServer(dir, bin, port, pw, runner, pid);
    boolean ready = false;
    try {
      server.awaitReady(pid, logFile, logStart);
      ready = true;
      log.debug("started {}", server);
      return server;
    } finally {
      if (!ready) {
        server.stopQuietly();
      }
    }
  }

  private void awaitReady(long pid, Path logFile, long logStart) {
    long end = System.nanoTime() + ServerSupport.START_DEADLINE.toNanos();
    long pause = 20;
    SQLException last = null;
    while (System.nanoTime() < end) {
      if (!ServerSupport.alive(pid)) {
        String tail = newLogLines(logFile, logStart);
        if (tail.contains("could not bind") || tail.contains("Address already in use")) {
          throw new PortTaken();
        }
        throw new SnapstashException(
            ErrorKind.EXTERNAL_COMMAND, "the PostgreSQL server in " + dataDir + " stopped while starting; last lines of " + logFile + ":\n" + tail);
      }
      try (Connection c = ServerSupport.connect(jdbcUrl("postgres"), SUPERUSER, password, 2)) {
        return;
      } catch (SQLException e) {
        last = e;
      }
      ServerSupport.sleep(pause);
      pause = Math.min(pause * 2, 250);
    }
    throw new SnapstashException(
        ErrorKind.EXTERNAL_COMMAND,
        "the PostgreSQL server in " + dataDir + " did not accept connections within " + ServerSupport.START_DEADLINE.toSeconds() + "s ("
            + (last == null ? "no attempt" : last.getMessage()) + "); last lines of " + logFile + ":\n" + newLogLines(logFile, logStart));
  }

  private void stopQuietly() {
    try {
      stop();
    } catch (RuntimeException e) {
      log.warn("could not stop {}: {}", this, e.getMessage());
    }
    long pid = postmasterPid();
    if (pid > 0 && ServerSupport.isProgram(pid, "postgres")) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
    if (ServerSupport.alive(spawnedPid)) {
      ProcessHandle.of(spawnedPid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  private static void initdb(Path dir, Path bin, ProcessRunner runner, boolean root, boolean durable) {
    String pw = ServerSupport.newPassword();
    Path tmp = ServerSupport.privateTempDir("snapstash-initdb");
    try {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      Path pwFile = tmp.resolve("pw");
      ServerSupport.writePrivate(pwFile, pw + "\n");
      if (root) {
        chownToServerUser(dir);
        chownToServerUser(tmp);
        chownToServerUser(pwFile);
      }
      List<String> argv = new ArrayList<>(List.of(
          bin.resolve("initdb").toString(), "-D", dir.toString(), "-U", SUPERUSER, "--pwfile=" + pwFile,
          "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"));
      if (!durable) {
        argv.add("--no-sync");
      }
      runner.run(Command.of(asUser(root, argv)).withTimeout(Duration.ofMinutes(2)).withSecret(pw));
      Path stored = dir.resolve(PASSWORD_FILE);
      ServerSupport.writePrivate(stored, pw + "\n");
      if (root) {
        chownToServerUser(stored);
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot prepare the PostgreSQL data directory " + dir + ": " + e.getMessage(), e);
    } finally {
      ServerSupport.deleteRecursively(tmp);
    }
  }

  /**
   * PostgreSQL runs as the postgres user, which must be able to enter every directory above its data directory
   * (a JUnit temporary directory, mode 0700 root, is a typical trap).
   */
  private static void requireEnterable(Path dir) {
    Path p = dir.getParent();
    while (p != null) {
      if (Files.exists(p)) {
        try {
          PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class);
          var perms = a.permissions();
          boolean ok = perms.contains(PosixFilePermission.OTHERS_EXECUTE)
              || (a.owner().getName().equals(OS_USER) && perms.contains(PosixFilePermission.OWNER_EXECUTE))
              || (a.group().getName().equals(OS_USER) && perms.contains(PosixFilePermission.GROUP_EXECUTE));
          if (!ok) {
            throw SnapstashException.precondition(
                "the postgres user cannot enter " + p + " (mode " + PosixFilePermissions.toString(perms) + ", owner " + a.owner().getName()
                    + "), so PostgreSQL cannot use " + dir + "; choose a data directory whose parents everyone may enter, such as one under /var/tmp");
          }
        } catch (IOException e) {
          throw SnapstashException.storage("cannot read the permissions of " + p + ": " + e.getMessage(), e);
        }
      }
      p = p.getParent();
    }
  }

  private static void chownToServerUser(Path p) throws IOException {
    UserPrincipalLookupService users = p.getFileSystem().getUserPrincipalLookupService();
    UserPrincipal user = users.lookupPrincipalByName(OS_USER);
    GroupPrincipal group = users.lookupPrincipalByGroupName(OS_USER);
    PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class);
    view.setOwner(user);
    view.setGroup(group);
  }

  private static Path requireBinDir() {
    return findBinDir()
        .orElseThrow(() -> SnapstashException.precondition(
            "the PostgreSQL server programs (initdb, postgres, pg_ctl) are not installed; install the postgresql package"));
  }

  private List<String> asUser(List<String> argv) {
    return asUser(asRoot, argv);
  }

  private static List<String> asUser(boolean root, List<String> argv) {
    if (!root) {
      return argv;
    }
    List<String> a = new ArrayList<>(List.of("runuser", "-u", OS_USER, "--"));
    a.addAll(argv);
    return a;
  }

  private long postmasterPid() {
    List<String> lines = readPidFile(dataDir);
    try {
      return lines.isEmpty() ? -1 : Long.parseLong(lines.get(0).strip());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static List<String> readPidFile(Path dir) {
    try {
      return Files.readAllLines(dir.resolve("postmaster.pid"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return List.of();
    }
  }

  private static boolean exists(Connection c, String sql, String arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static long size(Path f) {
    try {
      return Files.exists(f) ? Files.size(f) : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  /** The log's lines written since {@code offset} (this start's), at most the last 15. */
  static String newLogLines(Path logFile, long offset) {
    try {
      byte[] all = Files.readAllBytes(logFile);
      String text = new String(all, (int) Math.min(offset, all.length), (int) Math.max(0, all.length - offset), StandardCharsets.UTF_8);
      List<String> lines = text.lines().toList();
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException e) {
      return "";
    }
  }

  /** The chosen port was taken between choosing and binding. */
  private static final class PortTaken extends RuntimeException {
    PortTaken() {
      super(null, null, false, false);
    }
  }
}
