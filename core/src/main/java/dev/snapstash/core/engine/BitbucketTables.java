package dev.snapstash.core.engine;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the cross-check of a restored copy reads from a Bitbucket database, written against the real schema (see
 * the project's notes on it: repository rows, and pushes spread over {@code sta_activity}, {@code
 * sta_repo_activity} and {@code sta_repo_push_ref}) and coping with what differs between versions and databases:
 * columns that older versions lack ({@code store_id} before 6.0, {@code partition_id} before 8.0), upper-case
 * names on H2, MySQL 5.7 without window functions. Reads only; one query per question.
 */
final class BitbucketTables {
  /**
   * {@code Repository.State.AVAILABLE}, the only state whose Git storage is expected to be usable. The number is
   * the likely one (a third-party copy of the enum), not a confirmed one: callers must not fail a repository in
   * another state, and must show which states they saw, so a wrong guess shows instead of failing a restore.
   */
  static final int AVAILABLE = 1;

  /** {@code sta_repo_push_ref.change_type} of a deleted ref, whose {@code to_hash} is forty zeros. */
  static final int DELETED = 2;

  /** The tables a recorded push spans; all must exist for {@link #newestPushes} to run. */
  static final List<String> PUSH_TABLES = List.of("sta_activity", "sta_repo_activity", "sta_repo_push_ref");

  private BitbucketTables() {}

  /** Where a repository's Git storage lives, as far as its row says. */
  enum Storage {
    /** In this home, {@code shared/data/repositories/<id>}. */
    HOME,
    /** Not AVAILABLE (initialising, failed, offline): its directory may be absent or incomplete. */
    NOT_AVAILABLE,
    /** In a data store ({@code store_id}), at a path this check does not know. */
    DATA_STORE,
    /** On a Bitbucket Mesh node ({@code partition_id}), not in this home at all. */
    MESH
  }

  /**
   * One {@code repository} row.
   *
   * @param state null when the table has no {@code state} column
   * @param storeId null when not in a data store, or when the column does not exist
   * @param partitionId null when not on Mesh, or when the column does not exist
   */
  record RepositoryRow(long id, Integer state, Long storeId, Long partitionId) {
    Storage storage() {
      if (partitionId != null) {
        return Storage.MESH;
      }
      if (storeId != null) {
        return Storage.DATA_STORE;
      }
      if (state != null && state != AVAILABLE) {
        return Storage.NOT_AVAILABLE;
      }
      return Storage.HOME;
    }
  }

  /**
   * One ref of the newest recorded push of a repository.
   *
   * @param at when the push was recorded ({@code created_timestamp} as the database gives it back)
   * @param ref null (and {@code toHash} null) when that push only deleted refs
   */
  record PushedRef(long repositoryId, long activityId, java.time.LocalDateTime at, String ref, String toHash) {}

  /** Every {@code repository} row, with the columns this version has. */
  static List<RepositoryRow> repositories(Connection c) throws SQLException {
    Set<String> columns = columns(c, "repository");
    boolean state = columns.contains("state");
    boolean store = columns.contains("store_id");
    boolean partition = columns.contains("partition_id");
    String sql =
        "SELECT id, " + (state ? "state" : "NULL") + ", " + (store ? "store_id" : "NULL") + ", "
            + (partition ? "partition_id" : "NULL") + " FROM repository";
    List<RepositoryRow> rows = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        rows.add(new RepositoryRow(rs.getLong(1), integer(rs, 2), number(rs, 3), number(rs, 4)));
      }
    }
    return rows;
  }

  /**
   * The newest recorded push of every repository that has one, by {@code created_timestamp} and then by id (ids
   * come from per-node allocators, so they need not follow time across a cluster), with each of its refs that
   * the push did not delete. A push is an activity with {@code sta_repo_push_ref} rows: the same {@code
   * sta_repo_activity} table also holds repository creations and updates.
   *
   * <p>One statement for PostgreSQL, MySQL 5.7 and 8, MariaDB and H2: the newest timestamp per repository, then the
   * highest id at that timestamp, both plain aggregates (no {@code DISTINCT ON}, which only PostgreSQL has, and no
   * window function, which MySQL 5.7 lacks). Aggregates keep one row per repository in memory rather than sorting
   * every push of the instance. The {@code created_timestamp} type differs by version (with time zone in 4.x,
   * without since) and is only compared with itself here.
   */
  static List<PushedRef> newestPushes(Connection c) throws SQLException {
    String pushes = "EXISTS (SELECT 1 FROM sta_repo_push_ref p WHERE p.activity_id = %s.activity_id)";
    String sql =
        "SELECT l.repository_id, l.activity_id, l.newest, pr.ref_id, pr.to_hash"
            + " FROM (SELECT ra.repository_id, MAX(a.id) AS activity_id, MAX(a.created_timestamp) AS newest"
            + "   FROM sta_repo_activity ra"
            + "   JOIN sta_activity a ON a.id = ra.activity_id"
            + "   JOIN (SELECT ra2.repository_id, MAX(a2.created_timestamp) AS newest"
            + "     FROM sta_repo_activity ra2"
            + "     JOIN sta_activity a2 ON a2.id = ra2.activity_id"
            + "     WHERE " + String.format(pushes, "ra2")
            + "     GROUP BY ra2.repository_id) n"
            + "   ON n.repository_id = ra.repository_id AND n.newest = a.created_timestamp"
            + "   WHERE " + String.format(pushes, "ra")
            + "   GROUP BY ra.repository_id) l"
            + " LEFT JOIN sta_repo_push_ref pr ON pr.activity_id = l.activity_id AND pr.change_type <> " + DELETED
            + " ORDER BY l.repository_id, pr.ref_id";
    List<PushedRef> refs = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        String hash = rs.getString(5);
        refs.add(new PushedRef(rs.getLong(1), rs.getLong(2), rs.getTimestamp(3).toLocalDateTime(), rs.getString(4),
            hash == null ? null : hash.strip()));
      }
    }
    return refs;
  }

  /**
   * Whether the statements of this class would find {@code name}: asked of the database by a query that reads no
   * row, so that it resolves the name as they do (PostgreSQL's search path, MariaDB's current database, H2's upper
   * case), where catalog metadata would also list tables of other schemas or databases.
   */
  static boolean hasTable(Connection c, String name) throws SQLException {
    return !columns(c, name).isEmpty();
  }

  /**
   * The columns of {@code table}, in lower case; empty if there is no such table. Any other error (a lost
   * connection, a permission) is thrown: a check must not quietly skip what it could not read.
   */
  static Set<String> columns(Connection c, String table) throws SQLException {
    Savepoint savepoint = c.getAutoCommit() ? null : c.setSavepoint();
    Set<String> columns = new TreeSet<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT * FROM " + table + " WHERE 1 = 0")) {
      ResultSetMetaData md = rs.getMetaData();
      for (int i = 1; i <= md.getColumnCount(); i++) {
        columns.add(md.getColumnName(i).toLowerCase(Locale.ROOT));
      }
    } catch (SQLException e) {
      if (savepoint != null) {
        // PostgreSQL refuses every later statement of a transaction in which one failed.
        c.rollback(savepoint);
      }
      if (noSuchTable(e)) {
        return Set.of();
      }
      throw e;
    }
    if (savepoint != null) {
      c.releaseSavepoint(savepoint);
    }
    return columns;
  }

  /** PostgreSQL's undefined_table (42P01); MySQL, MariaDB and H2 say 42S02 (H2 also 42S03 and 42S04). */
  private static boolean noSuchTable(SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    return state.equals("42P01") || state.startsWith("42S0");
  }

  private static Integer integer(ResultSet rs, int column) throws SQLException {
    int v = rs.getInt(column);
    return rs.wasNull() ? null : v;
  }

  private static Long number(ResultSet rs, int column) throws SQLException {
    long v = rs.getLong(column);
    return rs.wasNull() ? null : v;
  }
}
