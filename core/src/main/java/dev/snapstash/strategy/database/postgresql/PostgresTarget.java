package dev.snapstash.strategy.database.postgresql;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a restore asks of the PostgreSQL database it is about to write: who else is connected, what it holds, and,
 * for a forced restore, emptying it. Each method takes a connection to that database and reads only, except {@link
 * #empty}, which changes everything or nothing.
 */
final class PostgresTarget {
  private PostgresTarget() {}

  /** User schemas: not the catalogues, not the toast and temporary schemas. */
  private static final String USER_SCHEMAS =
      "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'";

  private static final String NOT_IN_EXTENSION =
      "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = %s::regclass AND d.objid = %s AND d.deptype = 'e')";

  /** One group of sessions of other clients: who, from where, with which program, and how many. */
  record Session(String user, String from, String application, int count) {
    @Override
    public String toString() {
      return user + " from " + from + (application.isBlank() ? "" : " (" + application + ")") + (count > 1 ? " ×" + count : "");
    }
  }

  /**
   * The client sessions on this database other than {@code c}'s own: a live Bitbucket holds a pool of them. Server
   * processes (autovacuum, replication) are not clients and are left out. A user without {@code pg_read_all_stats}
   * still sees every session's user and database, only not its address, which then reads "an address hidden from
   * this user".
   */
  static List<Session> otherSessions(Connection c) throws SQLException {
    boolean hasBackendType = serverVersion(c) >= 100000;
    String sql =
        "SELECT coalesce(usename, '?'), coalesce(host(client_addr), CASE WHEN client_port = -1 THEN 'a local socket'"
            + " WHEN client_port IS NULL THEN 'an address hidden from this user' ELSE '?' END),"
            + " coalesce(application_name, ''), count(*)"
            + " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            + (hasBackendType ? " AND backend_type = 'client backend'" : "")
            + " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3";
    List<Session> out = new ArrayList<>();
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(new Session(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4)));
      }
    }
    return out;
  }

  /** What the database holds, counted by kind, and the user schemas other than {@code public}. */
  record Contents(Map<String, Long> counts, List<String> schemas) {
    long total() {
      return counts.values().stream().mapToLong(Long::longValue).sum() + schemas.size();
    }

    /** "12 tables, 2 views and 15 sequences", or "nothing". */
    String describe() {
      List<String> parts = new ArrayList<>();
      counts.forEach((kind, n) -> {
        if (n > 0) {
          parts.add(n + " " + (n == 1 ? kind : plural(kind)));
        }
      });
      if (!schemas.isEmpty()) {
        parts.add((schemas.size() == 1 ? "schema " : "schemas ") + String.join(", ", schemas));
      }
      if (parts.isEmpty()) {
        return "nothing";
      }
      if (parts.size() == 1) {
        return parts.get(0);
      }
      return String.join(", ", parts.subList(0, parts.size() - 1)) + " and " + parts.get(parts.size() - 1);
    }

    private static String plural(String kind) {
      return kind.endsWith("y") ? kind.substring(0, kind.length() - 1) + "ies" : kind + "s";
    }
  }

  static Contents contents(Connection c) throws SQLException {
    Map<String, Long> counts = new LinkedHashMap<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p', 'f')),"
                + " count(*) FILTER (WHERE c.relkind IN ('v', 'm')),"
                + " count(*) FILTER (WHERE c.relkind = 'S')"
                + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + USER_SCHEMAS)) {
      rs.next();
      counts.put("table", rs.getLong(1));
      counts.put("view", rs.getLong(2));
      counts.put("sequence", rs.getLong(3));
    }
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE " + USER_SCHEMAS + " AND "
                + NOT_IN_EXTENSION.formatted("'pg_proc'", "p.oid"))) {
      rs.next();
      counts.put("routine", rs.getLong(1));
    }
    List<String> schemas = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT n.nspname FROM pg_namespace n WHERE " + USER_SCHEMAS + " AND n.nspname <> 'public' AND "
                + NOT_IN_EXTENSION.formatted("'pg_namespace'", "n.oid") + " ORDER BY 1")) {
      while (rs.next()) {
        schemas.add(rs.getString(1));
      }
    }
    return new Contents(counts, schemas);
  }

  /**
   * Empties the database for a forced restore, in one transaction: every user schema other than {@code public}
   * goes whole; in {@code public} every table, view, sequence, routine and type is dropped, with what depends on
   * it. {@code public} itself stays, with its owner and grants. Objects of an extension are left to it. Sequences
   * that belong to a column (identity and serial columns) go with their table; dropping one of them first is an
   * error even with CASCADE, which is why the list leaves them out rather than relying on an order.
   *
   * <p>PostgreSQL's DDL is transactional, so any failure (an object owned by a role this user may not drop, a lock
   * not granted in time) rolls every drop back: the database is left empty or exactly as it was.
   *
   * @return how many objects were dropped
   */
  static int empty(Connection c) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try (Statement st = c.createStatement()) {
      // A live client holding a lock would otherwise make this wait forever; it was refused before, but may have
      // connected since.
      st.execute("SET LOCAL lock_timeout = '30s'");
      List<String> drops = drops(c);
      for (String drop : drops) {
        st.execute(drop);
      }
      c.commit();
      return drops.size();
    } catch (SQLException | RuntimeException e) {
      try {
        c.rollback();
      } catch (SQLException rollback) {
        e.addSuppressed(rollback);
      }
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
  }

  private static List<String> drops(Connection c) throws SQLException {
    List<String> drops = new ArrayList<>();
    String inPublic = " JOIN pg_namespace n ON n.oid = %s WHERE n.nspname = 'public' AND ";
    query(c,
        "SELECT 'DROP ' || CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN"
            + " 'FOREIGN TABLE' ELSE 'TABLE' END || ' IF EXISTS ' || c.oid::regclass::text || ' CASCADE'"
            + " FROM pg_class c" + inPublic.formatted("c.relnamespace") + "c.relkind IN ('v', 'm', 'r', 'p', 'f')"
            + " AND " + NOT_IN_EXTENSION.formatted("'pg_class'", "c.oid")
            + " ORDER BY CASE WHEN c.relkind IN ('v', 'm') THEN 0 ELSE 1 END, c.oid",
        drops);
    // Sequences owned by a column (deptype 'a' for serial, 'i' for identity) belong to their table.
    query(c,
        "SELECT 'DROP SEQUENCE IF EXISTS ' || c.oid::regclass::text || ' CASCADE' FROM pg_class c"
            + inPublic.formatted("c.relnamespace") + "c.relkind = 'S' AND "
            + NOT_IN_EXTENSION.formatted("'pg_class'", "c.oid")
            + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
            + " AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))",
        drops);
    String kind =
        serverVersion(c) >= 110000
            ? "CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END"
            : "CASE WHEN p.proisagg THEN 'AGGREGATE' ELSE 'FUNCTION' END";
    query(c,
        "SELECT 'DROP ' || " + kind + " || ' IF EXISTS ' || p.oid::regprocedure::text || ' CASCADE' FROM pg_proc p"
            + inPublic.formatted("p.pronamespace") + NOT_IN_EXTENSION.formatted("'pg_proc'", "p.oid"),
        drops);
    // Enums, domains, ranges and standalone composite types; a range's multirange and every array type go with it.
    query(c,
        "SELECT 'DROP TYPE IF EXISTS ' || t.oid::regtype::text || ' CASCADE' FROM pg_type t"
            + inPublic.formatted("t.typnamespace") + "(t.typtype IN ('e', 'd', 'r')"
            + " OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')) AND "
            + NOT_IN_EXTENSION.formatted("'pg_type'", "t.oid"),
        drops);
    query(c,
        "SELECT 'DROP SCHEMA IF EXISTS ' || quote_ident(n.nspname) || ' CASCADE' FROM pg_namespace n WHERE "
            + USER_SCHEMAS + " AND n.nspname <> 'public' AND " + NOT_IN_EXTENSION.formatted("'pg_namespace'", "n.oid"),
        drops);
    return drops;
  }

  private static void query(Connection c, String sql, List<String> into) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        into.add(rs.getString(1));
      }
    }
  }

  static int serverVersion(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
