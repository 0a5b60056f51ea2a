package dev.snapstash.strategy.database.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;

import dev.snapstash.core.config.Secret;
import dev.snapstash.strategy.database.mysql.MysqlSettings;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.strategy.database.DumpingDatabaseStrategyContract;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.TestDatabase;
import dev.snapstash.testing.Tools;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MysqlDumpStrategyIT extends DumpingDatabaseStrategyContract<TestDatabase> {
  @RegisterExtension static final MariaDbFixture mariadb = new MariaDbFixture();
  private static final ProcessRunner runner = new ProcessRunner();

  @BeforeAll
  static void tools() {
    Tools.require("mariadb-dump");
    Tools.require("mariadb");
  }

  static MysqlSettings config(TestDatabase db, Secret password) {
    return new MysqlSettings(db.host(), db.port(), db.database(), db.user(), password);
  }

  @Override
  protected TestDatabase newDatabase() {
    return mariadb.newDatabase();
  }

  @Override
  protected Connection connect(TestDatabase db) throws SQLException {
    return db.connect();
  }

  @Override
  protected DatabaseStrategy strategyFor(TestDatabase db) {
    return new MysqlDumpStrategy(config(db, db.secret()), runner);
  }

  @Override
  protected DatabaseStrategy strategyWithWrongPassword(TestDatabase db) {
    return new MysqlDumpStrategy(config(db, Secret.ofEnv("PW", Map.of("PW", "not-the-password"))), runner);
  }

  @Override
  protected String passwordKey() {
    return "database.mysql.password";
  }

  @Override
  protected String binaryType() {
    return "LONGBLOB";
  }

  @Override
  protected String password(TestDatabase db) {
    return db.password();
  }

  @Override
  protected String dumpProgram() {
    return "mariadb-dump";
  }

  @Override
  protected AutoCloseable blockDump(TestDatabase db) throws Exception {
    Connection c = db.connect();
    try (Statement st = c.createStatement()) {
      st.execute("LOCK TABLES push_ledger WRITE");
    }
    return () -> {
      try (Statement st = c.createStatement()) {
        st.execute("UNLOCK TABLES");
      }
      c.close();
    };
  }

  @Test
  void dumpHasHeaderTrailerAndRoutinesAndTriggers() throws Exception {
    TestDatabase src = source();
    try (Connection c = src.connect();
        Statement st = c.createStatement()) {
      st.execute("CREATE TRIGGER repo_slug BEFORE INSERT ON repository FOR EACH ROW SET NEW.slug = LOWER(NEW.slug)");
      st.execute("CREATE PROCEDURE ledger_count() SELECT COUNT(*) FROM push_ledger");
    }
    var b = backupContext("routines");
    strategyFor(src).backup(b);
    String dump = Files.readString(b.databaseDir().resolve(MysqlDumpStrategy.DUMP_FILE));
    assertThat(dump).contains("-- MariaDB dump").contains("TRIGGER").contains("ledger_count").contains("-- Dump completed");
    assertThat(dump).doesNotContain("CREATE DATABASE");
    assertThat(dump).doesNotContain(src.password());

    TestDatabase otherUser = newDatabase();
    assertThatThrownBy(() -> strategyFor(otherUser).restore(restoreContext(b, tmp, false)))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.AUTHENTICATION))
        .hasMessageContaining("database.mysql.username");

    // The same user (the definer) restores them into another database.
    mariadb.server().createDatabase("routines_target", src.user(), src.password());
    TestDatabase target = new TestDatabase(src.kind(), src.host(), src.port(), "routines_target", src.user(), src.password(), src.passwordFile(),
        mariadb.server().jdbcUrl("routines_target"));
    strategyFor(target).restore(restoreContext(b, tmp, false));
    try (Connection c = target.connect();
        Statement st = c.createStatement()) {
      st.execute("INSERT INTO repository VALUES (9, 'UPPER', 'x')");
      try (var rs = st.executeQuery("SELECT slug FROM repository WHERE id = 9")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("upper");
      }
    }
  }

  @Test
  void unreachableServerIsAProblemNamingHostAndPort() {
    TestDatabase db = mariadb.newDatabase();
    Findings f = new Findings();
    new MysqlDumpStrategy(new MysqlSettings("127.0.0.1", 1, db.database(), db.user(), db.secret()), runner).check(f);
    assertThat(f.problems()).anyMatch(p -> p.message().contains("database.mysql.host") && p.message().contains("127.0.0.1:1"));
  }

  /**
   * The backing-up user's own ~/.my.cnf (root's, say, with its [client] password for another account) must not
   * replace the configured database.mysql.password: the JDBC check passes with the configured one, so the dump
   * must use it too.
   */
  @Test
  void aClientPasswordInTheUsersMyCnfDoesNotOverrideTheConfiguredPassword() throws Exception {
    TestDatabase src = source();
    java.nio.file.Path home = Files.createDirectories(tmp.resolve("operator-home"));
    Files.writeString(home.resolve(".my.cnf"), "[client]\npassword=roots-own-password\n");
    ProcessRunner operatorShell = new ProcessRunner() {
      @Override
      public dev.snapstash.core.process.ProcessResult run(dev.snapstash.core.process.Command command) {
        // What the tool inherits when snapstash runs from the operator's login (HOME is inherited).
        return super.run(command.withEnv("HOME", home.toString()));
      }
    };
    MysqlDumpStrategy strategy = new MysqlDumpStrategy(config(src, src.secret()), operatorShell);
    Findings f = new Findings();
    strategy.check(f);
    assertThat(f.problems()).as("check (JDBC) accepts the configured password").isEmpty();
    var b = backupContext("mycnf");
    strategy.backup(b);
    assertThat(Files.readString(b.databaseDir().resolve(MysqlDumpStrategy.DUMP_FILE))).contains("-- Dump completed");
  }
}
