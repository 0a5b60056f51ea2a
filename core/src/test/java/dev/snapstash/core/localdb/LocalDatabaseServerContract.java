package dev.snapstash.core.localdb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.testing.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every private server guarantees; one subclass per kind. Each test owns its server. */
abstract class LocalDatabaseServerContract {
  protected final ProcessRunner runner = new ProcessRunner();
  protected Path base;
  private LocalDatabaseServer server;

  protected abstract void requireInstalled();

  protected abstract LocalDatabaseServer start(Path dataDir, int port);

  protected abstract Optional<? extends LocalDatabaseServer> running(Path dataDir);

  /** The names of the server's processes, to prove none is left. */
  protected abstract Set<String> programNames();

  @BeforeEach
  void setUp() {
    requireInstalled();
    base = TestDirs.newEnterableDir("localdb");
  }

  @AfterEach
  void tearDown() {
    try {
      if (server != null) {
        server.stop();
      }
    } finally {
      TestDirs.deleteRecursively(base);
    }
  }

  @Test
  void startsCreatesDatabaseStopsAndReusesTheDataAfterARestart() throws Exception {
    Path data = base.resolve("data");
    server = start(data, 0);
    assertThat(server.isRunning()).isTrue();
    assertThat(server.host()).isEqualTo("127.0.0.1");
    assertThat(server.port()).isPositive();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(server.superuserPasswordFile()))).isEqualTo("rw-------");

    server.createDatabase("app", "app_user", "s3cret'pw\\x");
    server.createDatabase("app", "app_user", "s3cret'pw\\x"); // idempotent
    try (Connection c = connect(server, "app", "app_user", "s3cret'pw\\x");
        Statement st = c.createStatement()) {
      st.execute("CREATE TABLE kept (id INT PRIMARY KEY)");
      st.execute("INSERT INTO kept VALUES (42)");
    }
    assertThatThrownBy(() -> connect(server, "app", "app_user", "wrong")).isInstanceOf(SQLException.class);

    Set<Long> pids = serverPids();
    assertThat(pids).isNotEmpty();
    server.stop();
    assertThat(server.isRunning()).isFalse();
    assertThat(serverPids()).doesNotContainAnyElementsOf(pids);
    assertThat(pids).allMatch(pid -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
    server.stop(); // idempotent

    server = start(data, 0);
    try (Connection c = connect(server, "app", "app_user", "s3cret'pw\\x");
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT id FROM kept")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getInt(1)).isEqualTo(42);
    }
  }

  @Test
  void attachesToTheServerRunningInADirectoryAndStopsIt() {
    Path data = base.resolve("data");
    server = start(data, 0);
    assertThat(start(data, 0).port()).as("a second start returns the running server").isEqualTo(server.port());
    LocalDatabaseServer attached = running(data).orElseThrow();
    assertThat(attached.port()).isEqualTo(server.port());
    attached.stop();
    assertThat(server.isRunning()).isFalse();
    assertThat(running(data)).isEmpty();
    assertThat(running(base.resolve("nothing-here"))).isEmpty();
  }

  @Test
  void refusesADirectoryThatIsNeitherEmptyNorItsOwn() throws Exception {
    Path data = Files.createDirectories(base.resolve("data"));
    Files.writeString(data.resolve("something.txt"), "not a database");
    assertThatThrownBy(() -> start(data, 0))
        .hasMessageContaining(data.toString())
        .hasMessageContaining("neither empty nor");
  }

  protected Set<Long> serverPids() {
    return ProcessHandle.allProcesses()
        .filter(h -> h.info().command().map(c -> programNames().stream().anyMatch(n -> c.endsWith("/" + n))).orElse(false))
        .filter(h -> h.info().arguments().map(a -> String.join(" ", a).contains(base.toString())).orElse(false))
        .map(ProcessHandle::pid)
        .collect(Collectors.toSet());
  }

  static Connection connect(LocalDatabaseServer s, String db, String user, String password) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("password", password);
    return DriverManager.getConnection(s.jdbcUrl(db), p);
  }
}
