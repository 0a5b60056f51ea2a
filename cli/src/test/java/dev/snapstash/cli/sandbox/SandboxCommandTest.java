package dev.snapstash.cli.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.localdb.MariaDbServer;
import dev.snapstash.core.localdb.PostgresServer;
import dev.snapstash.sandbox.Sandbox;
import dev.snapstash.sandbox.SandboxState;
import dev.snapstash.testing.TestDirs;
import dev.snapstash.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The detached lifecycle through the command line, with a real background JVM. */
class SandboxCommandTest {
  @TempDir Path tmp;
  private final List<Path> started = new ArrayList<>();
  private final List<Path> enterable = new ArrayList<>();

  @BeforeAll
  static void tools() {
    boolean git = Files.isExecutable(Path.of("/usr/lib/git-core/git-http-backend"));
    if (Boolean.getBoolean("snapstash.requireAll")) {
      assertThat(git).as("git http-backend is required").isTrue();
    }
    Assumptions.assumeTrue(git, "git http-backend is not installed");
    System.setProperty(SandboxCommand.MAIN_CLASS_PROPERTY, SandboxTestMain.class.getName());
  }

  @AfterEach
  void stopEverything() {
    for (Path d : started) {
      try {
        Sandbox.stop(d);
      } catch (RuntimeException e) {
        // best effort: the test already failed or the directory never got a state file
      }
    }
    enterable.forEach(TestDirs::deleteRecursively);
  }

  record Run(int exit, String out, SnapstashException error) {}

  Run sandbox(String... args) {
    AtomicReference<SnapstashException> err = new AtomicReference<>();
    CommandLine cl = new CommandLine(new SandboxTestMain.TestRoot());
    cl.setExecutionExceptionHandler((ex, c, p) -> {
      if (ex instanceof SnapstashException se) {
        err.set(se);
        return 2;
      }
      throw ex;
    });
    java.io.StringWriter buf = new java.io.StringWriter();
    cl.setOut(new java.io.PrintWriter(buf, true));
    String[] full = new String[args.length + 1];
    full[0] = "sandbox";
    System.arraycopy(args, 0, full, 1, args.length);
    int code = cl.execute(full);
    return new Run(code, buf.toString(), err.get());
  }

  @Test
  void detachedStartStatusStopRestartLeavesNothingBehind() throws Exception {
    Path dir = tmp.resolve("sb");
    started.add(dir);
    Run start = sandbox("start", "--dir", dir.toString(), "--port", "0", "--json");
    assertThat(start.error()).isNull();
    JsonNode s = new ObjectMapper().readTree(start.out());
    long pid = s.get("pid").asLong();
    String password = Files.readString(dir.resolve("admin-password")).strip();
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(dir.resolve("admin-password")))).isEqualTo("rw-------");
    assertThat(Files.readString(dir.resolve("snapstash.yml"))).contains("base-url: " + s.get("baseUrl").asText())
        .contains("password: ${file:" + dir.resolve("admin-password") + "}")
        .contains("url: jdbc:h2:file:" + dir.resolve("home/shared/data/db") + ";AUTO_SERVER=TRUE");
    assertThat(dir.resolve("home/.lock")).exists();
    assertThat(dir.resolve("home/shared/data/db.mv.db")).exists();
    Run running = sandbox("status", "--dir", dir.toString());
    assertThat(running.out()).contains("running at " + s.get("baseUrl").asText());
    assertThat(running.exit()).isZero();

    Run again = sandbox("start", "--dir", dir.toString(), "--port", "0");
    assertThat(again.error()).isNotNull();
    assertThat(again.error().kind()).isEqualTo(ErrorKind.PRECONDITION);
    assertThat(again.error().getMessage()).contains("pid " + pid).contains(s.get("baseUrl").asText());

    int port = s.get("port").asInt();
    Run busy = sandbox("start", "--dir", tmp.resolve("other").toString(), "--port", Integer.toString(port));
    started.add(tmp.resolve("other"));
    assertThat(busy.error().kind()).isEqualTo(ErrorKind.PRECONDITION);
    assertThat(busy.error().getMessage()).contains("--port");

    List<ProcessHandle> family = new ArrayList<>(ProcessHandle.of(pid).orElseThrow().descendants().toList());
    family.add(ProcessHandle.of(pid).orElseThrow());
    assertThat(sandbox("stop", "--dir", dir.toString()).out()).contains("sandbox stopped");
    for (ProcessHandle h : family) {
      assertThat(h.isAlive()).as("pid " + h.pid()).isFalse();
    }
    assertThat(dir.resolve("home/.lock")).doesNotExist();
    Run stopped = sandbox("status", "--dir", dir.toString());
    assertThat(stopped.out()).contains("stopped");
    assertThat(stopped.exit()).as("a stopped sandbox is exit status 7, so scripts can test it").isEqualTo(7);
    Run stoppedJson = sandbox("status", "--dir", dir.toString(), "--json");
    assertThat(stoppedJson.exit()).isEqualTo(7);
    assertThat(new ObjectMapper().readTree(stoppedJson.out()).get("running").asBoolean()).isFalse();
    assertThat(sandbox("stop", "--dir", dir.toString()).out()).contains("was not running");

    Run restart = sandbox("start", "--dir", dir.toString(), "--port", "0", "--json");
    assertThat(restart.error()).isNull();
    assertThat(Files.readString(dir.resolve("admin-password")).strip()).isEqualTo(password);
    SandboxState st = SandboxState.read(dir).orElseThrow();
    assertThat(st.adminPassword()).isEqualTo(password);
    assertThat(sandbox("stop", "--dir", dir.toString()).out()).contains("sandbox stopped");
    assertThat(ProcessHandle.of(st.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
  }

  /**
   * {@code --db} without {@code --jdbc-url}: the background sandbox runs a private server; if the sandbox is killed
   * the server outlives it, status says so, and {@code stop} stops it; the next start reuses server, data and port,
   * and a plain stop (SIGTERM) takes the server down with the sandbox.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void privateDatabaseServerIsStoppedEvenAfterTheSandboxWasKilled(String db) throws Exception {
    boolean pg = db.equals("postgresql");
    Tools.requireThat(pg ? PostgresServer.findBinDir().isPresent() : MariaDbServer.installed(),
        db + " server programs are not installed");
    // As root PostgreSQL runs as the postgres user, who cannot enter JUnit's @TempDir.
    Path base = TestDirs.newEnterableDir("sandbox-cli");
    enterable.add(base);
    Path dir = base.resolve("sb");
    started.add(dir);
    Path data = dir.resolve(pg ? "pgdata" : "mariadb");
    Run start = sandbox("start", "--dir", dir.toString(), "--port", "0", "--db", db, "--repos", "1", "--commits",
        "1", "--files-per-commit", "1", "--json");
    assertThat(start.error()).isNull();
    JsonNode s = new ObjectMapper().readTree(start.out());
    assertThat(s.get("dbLocal").asBoolean()).isTrue();
    assertThat(s.get("dbDataDir").asText()).isEqualTo(data.toString());
    int dbPort = s.get("dbPort").asInt();
    assertThat(sandbox("status", "--dir", dir.toString()).out())
        .contains("database: " + db + " " + s.get("jdbcUrl").asText() + " (private server in " + data + ", running)");
    long serverPid = serverPid(data, pg);

    ProcessHandle sandboxJvm = ProcessHandle.of(s.get("pid").asLong()).orElseThrow();
    sandboxJvm.destroyForcibly();
    sandboxJvm.onExit().get(30, TimeUnit.SECONDS);
    assertThat(ProcessHandle.of(serverPid).map(ProcessHandle::isAlive)).contains(true);
    String status = sandbox("status", "--dir", dir.toString()).out();
    assertThat(status).startsWith("stopped").contains(data + ", running)").contains("outlived its sandbox");
    JsonNode json = new ObjectMapper().readTree(sandbox("status", "--dir", dir.toString(), "--json").out());
    assertThat(json.get("dbServerRunning").asBoolean()).isTrue();

    assertThat(sandbox("stop", "--dir", dir.toString()).out()).contains("sandbox stopped");
    assertThat(ProcessHandle.of(serverPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(sandbox("status", "--dir", dir.toString()).out()).contains(data + ", stopped)");

    Run again = sandbox("start", "--dir", dir.toString(), "--port", "0", "--json");
    assertThat(again.error()).isNull();
    JsonNode s2 = new ObjectMapper().readTree(again.out());
    assertThat(s2.get("dbPort").asInt()).isEqualTo(dbPort);
    long secondServer = serverPid(data, pg);
    assertThat(sandbox("stop", "--dir", dir.toString()).out()).contains("sandbox stopped");
    assertThat(ProcessHandle.of(s2.get("pid").asLong()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(ProcessHandle.of(secondServer).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(sandbox("stop", "--dir", dir.toString()).out()).contains("was not running");
  }

  /**
   * The disaster-recovery path rehearsed on a sandbox: Bitbucket stopped with its database server left running
   * ({@code stop --keep-database}), a backup restored into the instance's own home and database, the instance
   * started again on the same server (adopted, not restarted), and a plain stop that then stops the server too.
   */
  @Test
  void stopKeepDatabaseLetsARestoreIntoTheInstancesOwnDatabaseBeRehearsed() throws Exception {
    Tools.requireThat(PostgresServer.findBinDir().isPresent(), "postgresql server programs are not installed");
    Path base = TestDirs.newEnterableDir("sandbox-dr");
    enterable.add(base);
    Path dir = base.resolve("sb");
    started.add(dir);
    Path data = dir.resolve("pgdata");
    Run start = sandbox("start", "--dir", dir.toString(), "--port", "0", "--db", "postgresql", "--repos", "2",
        "--commits", "2", "--files-per-commit", "2", "--json");
    assertThat(start.error()).isNull();
    JsonNode s = new ObjectMapper().readTree(start.out());
    long server = serverPid(data, true);
    String config = dir.resolve("snapstash.yml").toString();
    assertThat(snapstash("-c", config, "backup")).isZero();
    // The disaster: rows lost after the backup, and a half-applied upgrade's table; --force must replace all of it
    // (the schema in place, identity columns included, as the sandbox built it).
    int properties = appProperties(s, dir, "DELETE FROM app_property; CREATE TABLE half_upgraded (id BIGINT GENERATED ALWAYS AS IDENTITY)");
    assertThat(properties).isPositive();

    Run stop = sandbox("stop", "--dir", dir.toString(), "--keep-database", "--json");
    JsonNode stopped = new ObjectMapper().readTree(stop.out());
    assertThat(stopped.get("stopped").asBoolean()).isTrue();
    assertThat(stopped.get("databaseKept").asBoolean()).isTrue();
    assertThat(ProcessHandle.of(s.get("pid").asLong()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(ProcessHandle.of(server).map(ProcessHandle::isAlive)).as("the database server is kept").contains(true);
    Run status = sandbox("status", "--dir", dir.toString());
    assertThat(status.exit()).isEqualTo(7);
    assertThat(status.out()).startsWith("stopped").contains(data + ", running)")
        .contains("kept running by `sandbox stop --keep-database`");
    assertThat(new ObjectMapper().readTree(sandbox("status", "--dir", dir.toString(), "--json").out())
        .get("dbKept").asBoolean()).isTrue();

    assertThat(snapstash("-c", config, "restore", "latest", "--force", "--yes"))
        .as("restored into the sandbox's own home and its kept database").isZero();

    Run again = sandbox("start", "--dir", dir.toString(), "--port", "0", "--json");
    assertThat(again.error()).isNull();
    JsonNode s2 = new ObjectMapper().readTree(again.out());
    assertThat(serverPid(data, true)).as("the kept server is served again, not restarted").isEqualTo(server);
    assertThat(s2.get("dbPort").asInt()).isEqualTo(s.get("dbPort").asInt());
    assertThat(appProperties(s2, dir, "SELECT 1")).as("the restored rows").isEqualTo(properties);
    assertThat(new ObjectMapper().readTree(sandbox("status", "--dir", dir.toString(), "--json").out())
        .get("dbKept").asBoolean()).isFalse();

    assertThat(sandbox("stop", "--dir", dir.toString()).out()).isEqualTo("sandbox stopped\n");
    assertThat(ProcessHandle.of(s2.get("pid").asLong()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(ProcessHandle.of(server).map(ProcessHandle::isAlive).orElse(false))
        .as("a plain stop takes the server down with the sandbox").isFalse();
  }

  /** Runs {@code snapstash ARGS} in this JVM, as {@code Main} does; returns its exit code. */
  private static int snapstash(String... args) {
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    int code = dev.snapstash.cli.Main.execute(args, false, new java.io.PrintWriter(out, true),
        new java.io.PrintWriter(err, true));
    if (code != 0) {
      System.err.println("snapstash " + String.join(" ", args) + " exited " + code + ":\n" + out + err);
    }
    return code;
  }

  /** Counts the sandbox's app_property rows, then runs {@code sql} on its database. */
  private static int appProperties(JsonNode state, Path dir, String sql) throws Exception {
    String password = Files.readString(dir.resolve("db-password")).strip();
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(state.get("jdbcUrl").asText(), "bitbucket", password);
        java.sql.Statement st = c.createStatement()) {
      int n;
      try (java.sql.ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM app_property")) {
        rs.next();
        n = rs.getInt(1);
      }
      st.execute(sql);
      return n;
    }
  }

  private static long serverPid(Path data, boolean pg) throws Exception {
    Path f = data.resolve(pg ? "postmaster.pid" : MariaDbServer.PID_FILE);
    return Long.parseLong(Files.readAllLines(f).get(0).strip());
  }

  @Test
  void databaseErrorsFromTheBackgroundProcessKeepTheirKind() throws Exception {
    Path wrong = tmp.resolve("wrong-password");
    Files.writeString(wrong, "not-it\n");
    Path dir = tmp.resolve("x");
    started.add(dir);
    Run unreachable = sandbox("start", "--dir", dir.toString(), "--port", "0", "--db", "postgresql",
        "--jdbc-url", "jdbc:postgresql://127.0.0.1:1/bitbucket", "--db-user", "bitbucket",
        "--db-password-file", wrong.toString());
    assertThat(unreachable.error()).isNotNull();
    assertThat(unreachable.error().kind()).isEqualTo(ErrorKind.UNREACHABLE);
    assertThat(unreachable.error().getMessage()).contains("--jdbc-url");
    assertThat(Sandbox.status(dir).running()).isFalse();
  }
}
