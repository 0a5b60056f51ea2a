package dev.snapstash.core.localdb;

import static dev.snapstash.core.localdb.ServerSupport.HOST;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.Executables;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private MariaDB server: {@code mariadb-install-db} on first use, then {@code mariadbd} started detached on
 * 127.0.0.1 with utf8mb4 / utf8mb4_bin (what Bitbucket requires).
 *
 * <p>{@code root@127.0.0.1} gets a generated password, kept in {@value #PASSWORD_FILE} (mode 0600) in the data
 * directory and re-applied at every start (through a private, deleted {@code --init-file}); the built-in
 * {@code root@localhost} only accepts the operating-system root over the socket. The socket lives in the data
 * directory, or in a per-directory file under {@code /tmp} when that path would be too long for a socket.
 *
 * <p>Layout of {@link #dataDir()}: the MariaDB data directory itself, plus {@value #PASSWORD_FILE}, {@value
 * #STATE_FILE} (port and socket, for {@link #running}), {@value #PID_FILE}, {@value #ERROR_LOG} and {@value
 * #LOG_FILE}.
 */
public final class MariaDbServer implements LocalDatabaseServer {
  public static final String PASSWORD_FILE = "snapstash-superuser.pw";
  public static final String STATE_FILE = "snapstash-server.properties";
  public static final String PID_FILE = "mariadbd.pid";
  public static final String ERROR_LOG = "mariadbd.err";
  public static final String LOG_FILE = "snapstash-server.log";
  private static final Logger log = LoggerFactory.getLogger(MariaDbServer.class);
  private static final String SUPERUSER = "root";
  private static final int SOCKET_PATH_MAX = 100;
  private static final List<Path> SBIN = List.of(Path.of("/usr/sbin"), Path.of("/usr/libexec"), Path.of("/usr/local/sbin"));

  private final Path dataDir;
  private final int port;
  private final String password;

  private MariaDbServer(Path dataDir, int port, String password) {
    this.dataDir = dataDir;
    this.port = port;
    this.password = password;
  }

  /** Starts a durable server; see {@link #start(Path, int, ProcessRunner, boolean)}. */
  public static MariaDbServer start(Path dataDir, int port, ProcessRunner runner) {
    return start(dataDir, port, runner, true);
  }

  /**
   * Starts the server in {@code dataDir}, installing the system tables when the directory is missing or empty and
   * reusing it otherwise, and returns once {@code root} can log in over TCP. If a server already runs there on the
   * requested port (or any port, for 0), returns that one.
   *
   * @param port the TCP port, or 0 for a free one
   * @param durable false relaxes flushing (no doublewrite, log flushed once a second): for tests and scratch
   *     databases whose loss in an OS crash is harmless
   */
  public static MariaDbServer start(Path dataDir, int port, ProcessRunner runner, boolean durable) {
    Path dir = dataDir.toAbsolutePath().normalize();
    Path mariadbd = requireProgram("mariadbd", "mysqld");
    Optional<MariaDbServer> existing = running(dir, runner);
    if (existing.isPresent()) {
      if (port == 0 || port == existing.get().port()) {
        return existing.get();
      }
      throw SnapstashException.precondition(
          "MariaDB already runs in " + dir + " on port " + existing.get().port() + ", not " + port + "; stop it first");
    }
    boolean root = ServerSupport.isRoot();
    if (ServerSupport.isEmptyOrMissing(dir)) {
      install(dir, runner, root);
    } else if (!Files.isDirectory(dir.resolve("mysql"))) {
      throw SnapstashException.precondition(dir + " is neither empty nor a MariaDB data directory; use an empty directory");
    }
    String pw = ServerSupport.readPassword(dir.resolve(PASSWORD_FILE), "MariaDB", dir);
    int attempts = port == 0 ? 3 : 1;
    for (int i = 1; ; i++) {
      int p = port == 0 ? ServerSupport.freePort() : port;
      try {
        return launch(dir, mariadbd, p, pw, runner, root, durable);
      } catch (PortTaken e) {
        if (i >= attempts) {
          throw SnapstashException.precondition("port " + p + " on 127.0.0.1 is already in use; choose another port for the MariaDB server in " + dir);
        }
      }
    }
  }

  /** The server already running in {@code dataDir} (from its pid file), if any. */
  public static Optional<MariaDbServer> running(Path dataDir, ProcessRunner runner) {
    Path dir = dataDir.toAbsolutePath().normalize();
    long pid = readPid(dir);
    if (pid <= 0 || !ServerSupport.isProgram(pid, "mariadbd") && !ServerSupport.isProgram(pid, "mysqld")) {
      return Optional.empty();
    }
    Properties state = new Properties();
    try (Reader r = Files.newBufferedReader(dir.resolve(STATE_FILE), StandardCharsets.UTF_8)) {
      state.load(r);
      int port = Integer.parseInt(state.getProperty("port", "").strip());
      return Optional.of(new MariaDbServer(dir, port, ServerSupport.readPassword(dir.resolve(PASSWORD_FILE), "MariaDB", dir)));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Whether the server programs are installed. */
  public static boolean installed() {
    return findProgram("mariadbd", "mysqld").isPresent() && findProgram("mariadb-install-db", "mysql_install_db").isPresent();
  }

  @Override
  public String kind() {
    return "mariadb";
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
    return "jdbc:mariadb://" + HOST + ":" + port + "/" + database;
  }

  @Override
  public String superuser() {
    return SUPERUSER;
  }

  @Override
  public Path superuserPasswordFile() {
    return dataDir.resolve(PASSWORD_FILE);
  }

  /** The socket path this server uses (inside the data directory unless that is too long). */
  public Path socket() {
    return socketPath(dataDir);
  }

  @Override
  public void createDatabase(String name, String user, String userPassword) {
    ServerSupport.requireIdentifier("database name", name);
    ServerSupport.requireIdentifier("user name", user);
    String pw = "'" + userPassword.replace("\\", "\\\\").replace("'", "\\'") + "'";
    try (Connection c = ServerSupport.connect(jdbcUrl(""), SUPERUSER, password, 10);
        Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE IF NOT EXISTS `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
      st.execute("CREATE USER IF NOT EXISTS '" + user + "'@'%' IDENTIFIED BY " + pw);
      st.execute("ALTER USER '" + user + "'@'%' IDENTIFIED BY " + pw);
      st.execute("GRANT ALL PRIVILEGES ON `" + name + "`.* TO '" + user + "'@'%'");
    } catch (SQLException e) {
      throw new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND, "cannot create database " + name + " on the private MariaDB server in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean isRunning() {
    long pid = readPid(dataDir);
    return pid > 0 && (ServerSupport.isProgram(pid, "mariadbd") || ServerSupport.isProgram(pid, "mysqld"));
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
    long pid = readPid(dataDir);
    if (pid <= 0 || !(ServerSupport.isProgram(pid, "mariadbd") || ServerSupport.isProgram(pid, "mysqld"))) {
      return;
    }
    // SIGTERM is mariadbd's clean shutdown: it closes connections, flushes InnoDB and removes its pid file.
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
    if (!ServerSupport.awaitExit(pid, ServerSupport.STOP_DEADLINE)) {
      log.warn("MariaDB in {} did not stop within {}s, killing it", dataDir, ServerSupport.STOP_DEADLINE.toSeconds());
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      if (!ServerSupport.awaitExit(pid, Duration.ofSeconds(10))) {
        throw new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "the MariaDB server in " + dataDir + " (pid " + pid + ") did not stop");
      }
    }
  }

  @Override
  public String toString() {
    return "MariaDB on " + HOST + ":" + port + " in " + dataDir;
  }

  // ---------------------------------------------------------------------------------------------------------

  private static void install(Path dir, ProcessRunner runner, boolean root) {
    Path installer = requireProgram("mariadb-install-db", "mysql_install_db");
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create the MariaDB data directory " + dir + ": " + e.getMessage(), e);
    }
    List<String> argv = new ArrayList<>(List.of(installer.toString(), "--no-defaults", "--datadir=" + dir));
    if (root) {
      argv.add("--user=root");
    }
    argv.addAll(List.of("--skip-test-db", "--skip-name-resolve", "--auth-root-authentication-method=socket"));
    runner.run(Command.of(argv).withTimeout(Duration.ofMinutes(2)));
    ServerSupport.writePrivate(dir.resolve(PASSWORD_FILE), ServerSupport.newPassword() + "\n");
  }

  private static MariaDbServer launch(Path dir, Path mariadbd, int port, String pw, ProcessRunner runner, boolean root, boolean durable) {
    Path socket = socketPath(dir);
    Path errorLog = dir.resolve(ERROR_LOG);
    long logStart = size(errorLog);
    writeState(dir, port, socket);
    Path initDir = ServerSupport.privateTempDir("snapstash-mariadb-init");
    try {
      Path init = initDir.resolve("init.sql");
      String lit = "'" + pw.replace("\\", "\\\\").replace("'", "\\'") + "'";
      ServerSupport.writePrivate(
          init,
          "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY " + lit + ";\n"
              + "ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY " + lit + ";\n"
              + "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n");
      List<String> argv = new ArrayList<>(List.of(mariadbd.toString(), "--no-defaults", "--datadir=" + dir));
      if (root) {
        argv.add("--user=root");
      }
      argv.addAll(List.of(
          "--bind-address=" + HOST, "--port=" + port, "--socket=" + socket, "--pid-file=" + dir.resolve(PID_FILE),
          "--log-error=" + errorLog, "--skip-name-resolve", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
          "--init-file=" + init));
      if (!durable) {
        argv.addAll(List.of("--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--sync-binlog=0"));
      }
      long pid = runner.spawnDetached(Command.of(argv).withSecret(pw), dir.resolve(LOG_FILE));
      MariaDbServer server = new MariaDbServer(dir, port, pw);
      boolean ready = false;
      try {
        server.awaitReady(pid, errorLog, logStart);
        ready = true;
        log.debug("started {}", server);
        return server;
      } finally {
        if (!ready) {
          ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
          if (!ServerSupport.awaitExit(pid, Duration.ofSeconds(30))) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
          }
        }
      }
    } finally {
      ServerSupport.deleteRecursively(initDir);
    }
  }

  private void awaitReady(long pid, Path errorLog, long logStart) {
    long end = System.nanoTime() + ServerSupport.START_DEADLINE.toNanos();
    long pause = 20;
    SQLException last = null;
    while (System.nanoTime() < end) {
      if (!ServerSupport.alive(pid)) {
        String tail = PostgresServer.newLogLines(errorLog, logStart);
        if (tail.contains("Address already in use")) {
          throw new PortTaken();
        }
        throw new SnapstashException(
            ErrorKind.EXTERNAL_COMMAND, "the MariaDB server in " + dataDir + " stopped while starting; last lines of " + errorLog + ":\n" + tail);
      }
      try (Connection c = ServerSupport.connect(jdbcUrl(""), SUPERUSER, password, 2)) {
        return;
      } catch (SQLException e) {
        last = e;
      }
      ServerSupport.sleep(pause);
      pause = Math.min(pause * 2, 250);
    }
    throw new SnapstashException(
        ErrorKind.EXTERNAL_COMMAND,
        "the MariaDB server in " + dataDir + " did not accept connections within " + ServerSupport.START_DEADLINE.toSeconds() + "s ("
            + (last == null ? "no attempt" : last.getMessage()) + "); last lines of " + errorLog + ":\n"
            + PostgresServer.newLogLines(errorLog, logStart));
  }

  static Path socketPath(Path dir) {
    Path inside = dir.resolve("mariadbd.sock");
    if (inside.toString().length() <= SOCKET_PATH_MAX) {
      return inside;
    }
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(dir.toString().getBytes(StandardCharsets.UTF_8));
      return Path.of("/tmp", "snapstash-mariadb-" + HexFormat.of().formatHex(h, 0, 8) + ".sock");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void writeState(Path dir, int port, Path socket) {
    Properties p = new Properties();
    p.setProperty("port", Integer.toString(port));
    p.setProperty("socket", socket.toString());
    StringWriter w = new StringWriter();
    try {
      p.store(w, "written by snapstash at each start");
      Files.writeString(dir.resolve(STATE_FILE), w.toString(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + dir.resolve(STATE_FILE) + ": " + e.getMessage(), e);
    }
  }

  private static long readPid(Path dir) {
    try {
      return Long.parseLong(Files.readString(dir.resolve(PID_FILE), StandardCharsets.UTF_8).strip());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  private static Optional<Path> findProgram(String... names) {
    for (String n : names) {
      Optional<Path> p = Executables.find(n, SBIN);
      if (p.isPresent()) {
        return p;
      }
    }
    return Optional.empty();
  }

  private static Path requireProgram(String... names) {
    return findProgram(names)
        .orElseThrow(() -> SnapstashException.precondition(
            names[0] + " is not installed; install the mariadb-server package"));
  }

  private static long size(Path f) {
    try {
      return Files.exists(f) ? Files.size(f) : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  private static final class PortTaken extends RuntimeException {
    PortTaken() {
      super(null, null, false, false);
    }
  }
}
