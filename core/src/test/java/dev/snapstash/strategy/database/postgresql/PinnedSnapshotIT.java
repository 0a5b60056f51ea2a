package dev.snapstash.strategy.database.postgresql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The pinned snapshot against a real PostgreSQL server, read from another session as pg_dump's workers read it. */
class PinnedSnapshotIT {
  @RegisterExtension static final PostgresFixture pg = new PostgresFixture();

  /**
   * The moment is the pin's, not the preparation's (the session is readied before the lock, pinned under it), and
   * it holds for other sessions until the snapshot is closed.
   */
  @Test
  void anotherSessionSeesTheDatabaseAsItWasWhenPinnedUntilTheSnapshotIsClosed() throws Exception {
    TestDatabase db = pg.newDatabase();
    execute(db, "CREATE TABLE push_ledger (id INT PRIMARY KEY)", "INSERT INTO push_ledger VALUES (1)");
    PinnedSnapshot pinned = PinnedSnapshot.prepare(db.connect());
    String id;
    try {
      execute(db, "INSERT INTO push_ledger VALUES (2)");
      id = pinned.pin();
      execute(db, "INSERT INTO push_ledger VALUES (3)", "DELETE FROM push_ledger WHERE id = 1");
      assertThat(rowsAsOf(db, id)).isEqualTo(2);
      assertThat(rowsAsOf(db, id)).as("as often as pg_dump's workers ask").isEqualTo(2);
    } finally {
      pinned.close();
    }
    pinned.close();
    assertThatThrownBy(() -> rowsAsOf(db, id))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("snapshot");
  }

  private static void execute(TestDatabase db, String... statements) throws SQLException {
    try (Connection c = db.connect(); Statement st = c.createStatement()) {
      for (String sql : statements) {
        st.execute(sql);
      }
    }
  }

  /** What {@code pg_dump --snapshot} does: a repeatable-read transaction that adopts the exported snapshot. */
  private static long rowsAsOf(TestDatabase db, String snapshot) throws SQLException {
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try (Statement st = c.createStatement()) {
        st.execute("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM push_ledger")) {
          rs.next();
          return rs.getLong(1);
        }
      } finally {
        c.rollback();
      }
    }
  }
}
