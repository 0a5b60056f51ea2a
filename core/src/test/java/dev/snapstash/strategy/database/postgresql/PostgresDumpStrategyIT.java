package dev.snapstash.strategy.database.postgresql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.snapstash.core.config.Secret;
import dev.snapstash.strategy.database.postgresql.PostgresSettings;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.strategy.database.DumpingDatabaseStrategyContract;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import dev.snapstash.testing.Tools;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresDumpStrategyIT extends DumpingDatabaseStrategyContract<TestDatabase> {
  @RegisterExtension static final PostgresFixture pg = new PostgresFixture();
  private static final ProcessRunner runner = new ProcessRunner();

  @BeforeAll
  static void tools() {
    Tools.require("pg_dump");
    Tools.require("pg_restore");
  }

  static PostgresSettings config(TestDatabase db, Secret password) {
    return new PostgresSettings(db.host(), db.port(), db.database(), db.user(), password, 2, "", true);
  }

  @Override
  protected TestDatabase newDatabase() {
    return pg.newDatabase();
  }

  @Override
  protected Connection connect(TestDatabase db) throws SQLException {
    return db.connect();
  }

  @Override
  protected DatabaseStrategy strategyFor(TestDatabase db) {
    return new PostgresDumpStrategy(config(db, db.secret()), runner);
  }

  @Override
  protected DatabaseStrategy strategyWithWrongPassword(TestDatabase db) {
    return new PostgresDumpStrategy(config(db, Secret.ofEnv("PW", Map.of("PW", "not-the-password"))), runner);
  }

  @Override
  protected String passwordKey() {
    return "database.postgresql.password";
  }

  @Override
  protected String binaryType() {
    return "BYTEA";
  }

  @Override
  protected String password(TestDatabase db) {
    return db.password();
  }

  @Override
  protected String dumpProgram() {
    return "pg_dump";
  }

  @Override
  protected AutoCloseable blockDump(TestDatabase db) throws Exception {
    Connection c = db.connect();
    c.setAutoCommit(false);
    try (Statement st = c.createStatement()) {
      st.execute("LOCK TABLE push_ledger IN ACCESS EXCLUSIVE MODE");
    }
    return () -> {
      c.rollback();
      c.close();
    };
  }

  @Test
  void unreachableServerIsAProblemNamingHostAndPort() {
    TestDatabase db = pg.newDatabase();
    PostgresSettings c = new PostgresSettings("127.0.0.1", 1, db.database(), db.user(), db.secret(), 1, "", true);
    Findings f = new Findings();
    new PostgresDumpStrategy(c, runner).check(f);
    assertThat(f.problems()).anyMatch(p -> p.message().contains("database.postgresql.host") && p.message().contains("127.0.0.1:1"));
  }

  /**
   * A pg_dump older than the server (found in bin-dir here) is named in the preflight with the key that points at
   * another, and a backup stops at its preparation, before any lock, rather than fail under it.
   */
  @Test
  void aPgDumpOlderThanTheServerIsRefusedBeforeTheLock() throws Exception {
    TestDatabase db = source();
    java.nio.file.Path bin = tmp.resolve("old-client");
    dev.snapstash.strategy.database.ClientToolsTest.fake(bin, "pg_dump", "pg_dump (PostgreSQL) 9.6.24");
    dev.snapstash.strategy.database.ClientToolsTest.fake(bin, "pg_restore", "pg_restore (PostgreSQL) 9.6.24");
    PostgresSettings c = new PostgresSettings(db.host(), db.port(), db.database(), db.user(), db.secret(), 2, bin.toString(), true);
    PostgresDumpStrategy strategy = new PostgresDumpStrategy(c, runner);
    Findings f = new Findings();
    strategy.check(f);
    assertThat(f.problems()).singleElement().satisfies(p -> {
      assertThat(p.subject()).isEqualTo("database.postgresql.bin-dir");
      assertThat(p.message()).startsWith("pg_dump (PostgreSQL) 9.6.24 cannot dump the newer server (PostgreSQL ");
    });
    var b = backupContext("old-client");
    assertThatThrownBy(() -> strategy.prepareBackup(b))
        .isInstanceOfSatisfying(dev.snapstash.core.error.SnapstashException.class,
            e -> assertThat(e.kind()).isEqualTo(dev.snapstash.core.error.ErrorKind.PRECONDITION))
        .hasMessageContaining("database.postgresql.bin-dir");
  }

  @Test
  void restoreCreatesAMissingDatabaseWhenTheUserMay() throws Exception {
    TestDatabase src = source();
    var b = backupContext("create");
    strategyFor(src).backup(b);
    try (Connection c = pg.superuserConnection("postgres");
        Statement st = c.createStatement()) {
      st.execute("ALTER ROLE " + src.user() + " CREATEDB");
    }
    TestDatabase missing = new TestDatabase(src.kind(), src.host(), src.port(), "not_yet_there", src.user(), src.password(), src.passwordFile(),
        src.jdbcUrl().replace(src.database(), "not_yet_there"));
    DatabaseStrategy into = strategyFor(missing);
    var rc = restoreContext(b, tmp, false);
    into.prepareRestore(rc);
    into.restore(rc);
    assertThat(contents(missing)).isEqualTo(contents(src));
  }

  /**
   * The dump taken after the unlock from the snapshot pinned under the lock holds exactly the database as it was
   * at the capture: writes after it (the instance is running again) are not in it.
   */
  @Test
  void aDumpFromTheSnapshotPinnedUnderTheLockExcludesLaterWrites() throws Exception {
    TestDatabase src = source();
    var b = backupContext("snapshot");
    Map<String, List<String>> atCapture = contents(src);
    try (DatabaseStrategy.Run run = strategyFor(src).prepareBackup(b);
        DatabaseStrategy.Pending pending = run.capture(b)) {
      assertThat(pending.done()).as("nothing dumped under the lock").isFalse();
      try (Connection c = connect(src); Statement st = c.createStatement()) {
        st.execute("INSERT INTO push_ledger (id, repository_id, ref_name, pushed_at) VALUES (100000, 1, 'refs/heads/after', 1)");
        st.execute("DELETE FROM repository WHERE id = (SELECT MIN(id) FROM repository)");
      }
      var result = pending.finish();
      assertThat(result.details()).containsKey("snapshot");
    }
    TestDatabase target = pg.newDatabase();
    var rc = restoreContext(b, tmp, false);
    DatabaseStrategy into = strategyFor(target);
    into.prepareRestore(rc);
    into.restore(rc);
    assertThat(contents(target)).isEqualTo(atCapture);
  }

  /**
   * The session is opened before the lock (prepareBackup) to keep connecting out of the downtime, but its snapshot
   * is the capture's moment: a write between the two is in the dump, a write after the capture is not.
   */
  @Test
  void aSessionOpenedBeforeTheLockStillPinsTheCapturesMoment() throws Exception {
    TestDatabase src = source();
    var b = backupContext("prepared");
    DatabaseStrategy strategy = strategyFor(src);
    Map<String, List<String>> atCapture;
    try (DatabaseStrategy.Run run = strategy.prepareBackup(b)) {
      try (Connection c = connect(src); Statement st = c.createStatement()) {
        st.execute("INSERT INTO push_ledger (id, repository_id, ref_name, pushed_at) VALUES (200000, 1, 'refs/heads/before-lock', 1)");
      }
      atCapture = contents(src);
      try (DatabaseStrategy.Pending pending = run.capture(b)) {
        try (Connection c = connect(src); Statement st = c.createStatement()) {
          st.execute("INSERT INTO push_ledger (id, repository_id, ref_name, pushed_at) VALUES (200001, 1, 'refs/heads/after-lock', 1)");
        }
        pending.finish();
      }
    }
    TestDatabase target = pg.newDatabase();
    var rc = restoreContext(b, tmp, false);
    DatabaseStrategy into = strategyFor(target);
    into.prepareRestore(rc);
    into.restore(rc);
    assertThat(contents(target)).isEqualTo(atCapture);
  }

  /**
   * The strategy keeps no run of its own: two backups prepared side by side each hold their own session (the
   * second's preparation does not close or take the first's), and a run closed before its capture leaves no
   * session behind, as a backup that fails before the lock must.
   */
  @Test
  void eachRunOwnsTheSessionItPreparedAndClosingItReleasesIt() throws Exception {
    TestDatabase src = source();
    DatabaseStrategy strategy = strategyFor(src);
    var first = backupContext("first-run");
    var second = backupContext("second-run");
    try (Connection watch = connect(src)) {
      try (DatabaseStrategy.Run one = strategy.prepareBackup(first)) {
        try (DatabaseStrategy.Run two = strategy.prepareBackup(second)) {
          assertThat(snapstashSessions(watch)).as("one session per prepared run").isEqualTo(2);
          try (DatabaseStrategy.Pending pending = one.capture(first)) {
            assertThat(snapstashSessions(watch)).as("the capture pinned its own run's session").isEqualTo(2);
            pending.finish();
          }
          // A backend leaves pg_stat_activity a moment after its client hangs up (pg_dump's workers too).
          await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
              assertThat(snapstashSessions(watch)).as("the pending closed the pinned session").isEqualTo(1));
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
            assertThat(snapstashSessions(watch)).as("closing the second run released its session").isZero());
      }
    }
    assertThat(first.databaseDir().resolve("dump").resolve("toc.dat")).exists();
    assertThat(second.databaseDir()).doesNotExist();
  }

  private static int snapstashSessions(Connection watch) throws SQLException {
    try (Statement st = watch.createStatement();
        var rs = st.executeQuery(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'snapstash'"
                + " AND pid <> pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /**
   * A PGPASSWORD left in the environment snapstash runs in (an operator's shell, a CI job) must not replace the
   * configured database.postgresql.password, which the JDBC check has just accepted: libpq prefers PGPASSWORD
   * to PGPASSFILE.
   */
  @Test
  void anInheritedPgpasswordDoesNotOverrideTheConfiguredPassword() throws Exception {
    TestDatabase src = source();
    ProcessRunner operatorShell = new ProcessRunner() {
      @Override
      public dev.snapstash.core.process.ProcessResult run(dev.snapstash.core.process.Command command) {
        // What pg_dump inherits when the parent's environment holds PGPASSWORD: ProcessBuilder starts from the
        // parent's environment, and only a variable the command sets itself replaces it.
        return super.run(
            command.environment().containsKey("PGPASSWORD")
                ? command
                : command.withEnv("PGPASSWORD", "some-other-databases-password"));
      }
    };
    PostgresDumpStrategy strategy = new PostgresDumpStrategy(config(src, src.secret()), operatorShell);
    var b = backupContext("pgpassword");
    strategy.backup(b);
    assertThat(b.databaseDir().resolve("dump").resolve("toc.dat")).exists();
  }
}
