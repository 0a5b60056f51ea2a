package dev.snapstash.strategy.database.postgresql;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A session that fixes the database's consistent point for a dump after the unlock. It is readied before the lock
 * ({@link #prepare}: connecting and the session settings cost round trips that would otherwise be downtime); under
 * the lock, {@link #pin} starts its repeatable-read transaction and exports that transaction's snapshot, which
 * fixes the database as it is now, drained; {@code pg_dump --snapshot} then reads exactly that state after the
 * unlock, for as long as this session keeps the transaction open, until {@link #close}.
 *
 * <p>One thread at a time: the run's capture pins it, the pending dump's close releases it.
 */
final class PinnedSnapshot implements AutoCloseable {
  private final Connection session;

  private PinnedSnapshot(Connection session) {
    this.session = session;
  }

  /**
   * Readies an open session for pinning, in autocommit until now (so no transaction has started). The transaction,
   * and with it the snapshot, begins only with the first statement, {@code pg_export_snapshot()}.
   */
  static PinnedSnapshot prepare(Connection session) throws SQLException {
    session.setAutoCommit(false);
    session.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
    session.setReadOnly(true);
    return new PinnedSnapshot(session);
  }

  /** Under the lock: begins the transaction and exports its snapshot. Returns the id {@code pg_dump --snapshot} takes. */
  String pin() throws SQLException {
    try (Statement st = session.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_export_snapshot()")) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** Ends the transaction and the session, which releases the snapshot. Idempotent; throws nothing. */
  @Override
  public void close() {
    try {
      session.rollback();
    } catch (SQLException e) {
      // never pinned, or the session is gone already: nothing to end
    }
    try {
      session.close();
    } catch (SQLException e) {
      // the session is gone already; nothing is pinned any more
    }
  }
}
