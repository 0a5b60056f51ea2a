package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.localdb.LocalDatabaseServer;
import dev.snapstash.core.localdb.MariaDbServer;
import dev.snapstash.core.localdb.PostgresServer;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.testing.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code --db postgresql|mariadb} without {@code --jdbc-url}: the sandbox runs a private server in its directory,
 * owns it (stops it on close), restarts the same server and data on the next start, and {@code sandbox stop} stops
 * one that outlived its sandbox.
 */
class PrivateDatabaseServerTest {
  private static final String ZEROS = "0".repeat(40);
  private final ProcessRunner runner = new ProcessRunner();

  @ParameterizedTest
  @EnumSource(value = DbKind.class, names = {"POSTGRESQL", "MARIADB"})
  void startStopRestartKeepsTheDataAndLeavesNoServerBehind(DbKind kind) throws Exception {
    Tools.requireGit();
    requireInstalled(kind);
    // Not JUnit's @TempDir: as root, PostgreSQL runs as the postgres user, who cannot enter that one.
    Path base = TestDirs.newEnterableDir("sandbox-" + kind.optionValue());
    Path dir = base.resolve("sb");
    Path data = dir.resolve(kind == DbKind.POSTGRESQL ? "pgdata" : "mariadb");
    try {
      SandboxOptions o = SandboxOptions.defaults(dir).withPort(0).withContent(2, 1, 1, 1)
          .withDatabase(kind, null, null, null);
      long firstPid;
      int dbPort;
      String sha = "1".repeat(40);
      try (RunningSandbox sb = RunningSandbox.start(o, runner)) {
        SandboxState st = sb.state();
        LocalDatabaseServer server = sb.localDatabaseServer().orElseThrow();
        dbPort = server.port();
        assertThat(st.dbLocal()).isTrue();
        assertThat(st.dbDataDir()).isEqualTo(data.toString());
        assertThat(st.dbHost()).isEqualTo("127.0.0.1");
        assertThat(st.dbPort()).isEqualTo(dbPort);
        assertThat(st.dbName()).isEqualTo("bitbucket");
        assertThat(st.dbUser()).isEqualTo("bitbucket");
        assertThat(st.jdbcUrl()).isEqualTo(server.jdbcUrl("bitbucket"));
        assertThat(st.dbPasswordFile()).isEqualTo(dir.resolve("db-password").toString());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("db-password"))))
            .isEqualTo("rw-------");
        assertThat(SandboxState.read(dir).orElseThrow()).isEqualTo(st);
        String password = Files.readString(dir.resolve("db-password")).strip();
        String section = kind == DbKind.POSTGRESQL ? "postgresql" : "mysql";
        assertThat(Files.readString(dir.resolve("snapstash.yml")))
            .contains("  type: " + section + "\n  " + section + ":\n    host: 127.0.0.1\n    port: " + dbPort
                + "\n    database: bitbucket\n    username: bitbucket\n    password: ${file:" + dir.resolve("db-password")
                + "}\n");
        assertThat(Files.readString(sb.layout().properties())).contains("jdbc.url=" + st.jdbcUrl())
            .contains("jdbc.user=bitbucket").contains("jdbc.password=" + password);
        // The backup tool logs in the way snapstash.yml says.
        try (Connection c = DriverManager.getConnection(st.jdbcUrl(), "bitbucket", password)) {
          assertThat(c.isValid(5)).isTrue();
        }
        Sandbox.Status status = Sandbox.status(dir);
        assertThat(status.dbServerRunning()).isTrue();
        assertThat(status.dbLocation()).contains(st.jdbcUrl()).contains("private server in " + data);
        firstPid = serverPid(kind, data);
        assertThat(ProcessHandle.of(firstPid)).isPresent();
        sb.database().insertLedger(List.of(new SandboxDatabase.LedgerRow(1, "refs/heads/survives", ZEROS, sha,
            Instant.now())));
      }
      assertGone(firstPid);
      assertThat(Sandbox.status(dir).dbServerRunning()).isFalse();
      assertThat(Sandbox.status(dir).dbLocation()).contains("stopped");

      // The next start (kind and server from sandbox.json) restarts the same server, data and port.
      long secondPid;
      try (RunningSandbox sb = RunningSandbox.start(SandboxOptions.defaults(dir).withPort(0), runner)) {
        assertThat(sb.state().dbLocal()).isTrue();
        assertThat(sb.state().dbPort()).isEqualTo(dbPort);
        assertThat(sb.database().ledger()).anySatisfy(r -> {
          assertThat(r.ref()).isEqualTo("refs/heads/survives");
          assertThat(r.newSha()).isEqualTo(sha);
        });
        assertThat(sb.database().allRepositories()).hasSize(2);
        secondPid = serverPid(kind, data);
        assertThat(secondPid).isNotEqualTo(firstPid);
      }
      assertGone(secondPid);

      // A server that outlived its sandbox (the sandbox JVM was killed): status says so, stop stops it.
      LocalDatabaseServer orphan = kind == DbKind.POSTGRESQL ? PostgresServer.start(data, dbPort, runner)
          : MariaDbServer.start(data, dbPort, runner);
      long orphanPid = serverPid(kind, data);
      assertThat(orphan.isRunning()).isTrue();
      Sandbox.Status status = Sandbox.status(dir);
      assertThat(status.running()).isFalse();
      assertThat(status.dbServerRunning()).isTrue();
      assertThat(Sandbox.stop(dir, runner)).isTrue();
      assertGone(orphanPid);
      assertThat(Sandbox.stop(dir, runner)).isFalse();
    } finally {
      LocalDb.running(kind, data, runner).ifPresent(LocalDatabaseServer::stop);
      TestDirs.deleteRecursively(base);
    }
  }

  @Test
  void postgresqlNamesTheDirectoryThePostgresUserCannotEnter(@TempDir Path tmp) throws Exception {
    Tools.require(LocalDb.isRoot(), "only root runs PostgreSQL as another user");
    requireInstalled(DbKind.POSTGRESQL);
    // JUnit's temporary directory is root's, mode 0700: the sandbox did not create it, so it is not opened up.
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx------"));
    SandboxOptions o = SandboxOptions.defaults(tmp.resolve("sb")).withPort(0)
        .withDatabase(DbKind.POSTGRESQL, null, null, null);
    assertThatThrownBy(() -> RunningSandbox.start(o, runner))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION);
          assertThat(e.getMessage()).contains("cannot enter " + tmp);
        });
    assertThat(Files.getPosixFilePermissions(tmp)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    // What the sandbox created itself it makes enterable, so that the next --dir below it works.
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("sb")))).endsWith("x");
    assertThat(tmp.resolve("sb/pgdata")).doesNotExist();
  }

  @Test
  void credentialsWithoutAServerAddressAreAUsageError(@TempDir Path tmp) throws Exception {
    Path pw = tmp.resolve("pw");
    Files.writeString(pw, "x\n");
    SandboxOptions o = SandboxOptions.defaults(tmp.resolve("sb")).withPort(0)
        .withDatabase(DbKind.MARIADB, null, "someone", pw);
    assertThatThrownBy(() -> RunningSandbox.start(o, runner))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.USAGE);
          assertThat(e.getMessage()).contains("--jdbc-url");
        });
  }

  static void requireInstalled(DbKind kind) {
    if (kind == DbKind.POSTGRESQL) {
      dev.snapstash.testing.Tools.requireThat(PostgresServer.findBinDir().isPresent(),
          "the PostgreSQL server programs are not installed");
    } else {
      dev.snapstash.testing.Tools.requireThat(MariaDbServer.installed(),
          "the MariaDB server programs are not installed");
    }
  }

  /** The server's pid from its pid file ({@code postmaster.pid}, {@code mariadbd.pid}). */
  static long serverPid(DbKind kind, Path data) throws Exception {
    Path f = data.resolve(kind == DbKind.POSTGRESQL ? "postmaster.pid" : MariaDbServer.PID_FILE);
    return Long.parseLong(Files.readAllLines(f).get(0).strip());
  }

  static void assertGone(long pid) {
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("server pid " + pid + " alive")
        .isFalse();
  }
}
