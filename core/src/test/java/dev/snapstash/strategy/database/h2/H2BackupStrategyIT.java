package dev.snapstash.strategy.database.h2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.Secret;
import dev.snapstash.strategy.database.h2.H2Settings;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.strategy.database.DumpingDatabaseStrategyContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class H2BackupStrategyIT extends DumpingDatabaseStrategyContract<H2BackupStrategyIT.H2Db> {
  /** A Bitbucket-like home with its H2 database in {@code shared/data/db}. */
  record H2Db(Path home, String url, String password) {
    Path file() {
      return home.resolve("shared/data/db.mv.db");
    }
  }

  private final AtomicInteger counter = new AtomicInteger();

  @Override
  protected H2Db newDatabase() {
    Path home = tmp.resolve("h2-" + counter.incrementAndGet()).resolve("home");
    return new H2Db(home, "jdbc:h2:file:" + home.resolve("shared/data/db") + ";AUTO_SERVER=TRUE", "h2-secret");
  }

  @Override
  protected Connection connect(H2Db db) throws SQLException {
    return DriverManager.getConnection(db.url(), "sa", db.password());
  }

  static H2Settings config(H2Db db, String password) {
    return new H2Settings(db.url(), "sa", Secret.ofEnv("H2PW", Map.of("H2PW", password)));
  }

  @Override
  protected DatabaseStrategy strategyFor(H2Db db) {
    return new H2BackupStrategy(config(db, db.password()), db.home());
  }

  @Override
  protected DatabaseStrategy strategyWithWrongPassword(H2Db db) {
    return new H2BackupStrategy(config(db, "not-the-password"), db.home());
  }

  @Override
  protected Path homeOf(H2Db db) {
    return db.home();
  }

  @Override
  protected String passwordKey() {
    return "database.h2.password";
  }

  @Override
  protected String binaryType() {
    return "VARBINARY(100)";
  }

  @Override
  protected String password(H2Db db) {
    return db.password();
  }

  @Test
  void restoreIntoANewHomeGetsItsOwnDatabaseAndLeavesTheSourceAlone() throws Exception {
    H2Db src = source();
    var b = backupContext("rebase");
    strategyFor(src).backup(b);
    byte[] before = Files.readAllBytes(src.file());

    Path newHome = tmp.resolve("new-home");
    // Configured exactly as for the backup (the source's URL and home); only the restore's home target differs.
    DatabaseStrategy s = strategyFor(src);
    var rc = restoreContext(b, newHome, false);
    s.prepareRestore(rc);
    s.restore(rc);

    assertThat(Files.readAllBytes(src.file())).as("the source database is untouched").isEqualTo(before);
    H2Db restored = new H2Db(newHome, "jdbc:h2:file:" + newHome.resolve("shared/data/db"), src.password());
    assertThat(restored.file()).isRegularFile();
    assertThat(contents(restored)).isEqualTo(contents(src));
  }

  @Test
  void forcedRestoreRefusesADatabaseThatIsOpen() throws Exception {
    var b = backupContext("in-use");
    strategyFor(source()).backup(b);
    H2Db target = newDatabase();
    populate(target);
    try (Connection open = connect(target)) {
      assertThatThrownBy(() -> strategyFor(target).prepareRestore(restoreContext(b, target.home(), true)))
          .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION))
          .hasMessageContaining("in use");
    }
  }

  /** The manifest and the preflight name the database H2 and its version, as an administrator reads them. */
  @Test
  void theCopyAndTheCheckNameTheDatabaseH2() throws Exception {
    DatabaseStrategy s = strategyFor(source());
    var r = s.backup(backupContext("named"));
    assertThat(r.details().get("tool")).matches("H2 \\d.*");
    assertThat(r.details().get("format")).isEqualTo("H2 BACKUP (zip)");
    Findings f = new Findings();
    s.check(f);
    assertThat(f.all()).anyMatch(x -> x.message().matches("H2 \\d.* database .*"));
  }

  @Test
  void aMistypedUrlIsReportedAndNeverCreatesAnEmptyDatabase() {
    H2Db nowhere = newDatabase();
    DatabaseStrategy s = strategyFor(nowhere);
    Findings f = new Findings();
    s.check(f);
    assertThat(f.problems()).anyMatch(p -> p.message().contains("database.h2.url"));
    assertThatThrownBy(() -> s.backup(backupContext("nowhere")))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
        .hasMessageContaining("database.h2.url");
    assertThat(nowhere.file()).doesNotExist();
  }
}
