package dev.snapstash.strategy.database.mysql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a restore asks of the MySQL or MariaDB database it is about to write: who else is connected, what it holds,
 * and, for a forced restore, emptying it. Each method takes a connection to the server and the database's name.
 */
final class MysqlTarget {
  private MysqlTarget() {}

  /** One group of sessions of other clients: who, from which host, and how many. */
  record Session(String user, String host, int count) {
    @Override
    public String toString() {
      return user + " from " + host + (count > 1 ? " ×" + count : "");
    }
  }

  /**
   * The sessions on {@code database} other than {@code c}'s own: a live Bitbucket holds a pool of them. A user
   * without the PROCESS privilege sees only its own account's sessions, which is the account Bitbucket uses in
   * the usual set-up; {@link #seesAllSessions} tells which.
   */
  static List<Session> otherSessions(Connection c, String database) throws SQLException {
    Map<String, Session> groups = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT USER, HOST FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()"
            + " AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID') ORDER BY USER, HOST")) {
      ps.setString(1, database);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String host = rs.getString(2) == null ? "?" : rs.getString(2);
          // "10.0.0.5:53122": one pool, one line.
          int colon = host.lastIndexOf(':');
          if (colon > 0 && host.indexOf(':') == colon) {
            host = host.substring(0, colon);
          }
          String user = rs.getString(1);
          groups.merge(user + "@" + host, new Session(user, host, 1), (a, b) -> new Session(a.user(), a.host(), a.count() + 1));
        }
      }
    }
    return List.copyOf(groups.values());
  }

  /** Whether this account holds PROCESS, without which other accounts' sessions are invisible. */
  static boolean seesAllSessions(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'PROCESS'")) {
      rs.next();
      return rs.getLong(1) > 0;
    }
  }

  /** What the database holds, counted by kind. */
  record Contents(Map<String, Long> counts) {
    long total() {
      return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    String describe() {
      List<String> parts = new ArrayList<>();
      counts.forEach((kind, n) -> {
        if (n > 0) {
          parts.add(n + " " + kind + (n == 1 ? "" : "s"));
        }
      });
      if (parts.isEmpty()) {
        return "nothing";
      }
      if (parts.size() == 1) {
        return parts.get(0);
      }
      return String.join(", ", parts.subList(0, parts.size() - 1)) + " and " + parts.get(parts.size() - 1);
    }
  }

  static Contents contents(Connection c, String database) throws SQLException {
    Map<String, Long> counts = new LinkedHashMap<>();
    counts.put("table", count(c, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW'", database));
    counts.put("view", count(c, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'VIEW'", database));
    counts.put("routine", count(c, "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?", database));
    counts.put("event", count(c, "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?", database));
    return new Contents(counts);
  }

  private static long count(Connection c, String sql, String database) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, database);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * Which of {@code privileges} (DROP and CREATE, for a forced restore to replace {@code database} whole; CREATE, to
   * create it) this account lacks, held globally or on the database (a wildcard grant such as {@code bitbucket%}
   * counts). Empty when it has them all.
   * Privileges held only through a role are not seen: grant them to the account itself.
   */
  static Optional<String> missingPrivileges(Connection c, String database, String... privileges) throws SQLException {
    List<String> missing = new ArrayList<>();
    for (String privilege : privileges) {
      long n;
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = ?)"
              + " + (SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE PRIVILEGE_TYPE = ?"
              + " AND ? LIKE TABLE_SCHEMA)")) {
        ps.setString(1, privilege);
        ps.setString(2, privilege);
        ps.setString(3, database);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          n = rs.getLong(1);
        }
      }
      if (n == 0) {
        missing.add(privilege);
      }
    }
    return missing.isEmpty() ? Optional.empty() : Optional.of(String.join(" and ", missing));
  }

  /**
   * Empties {@code database} for a forced restore by dropping it and creating it again with the same character
   * set and collation; its grants stay, as MySQL and MariaDB keep privileges of a dropped database.
   *
   * <p>Their DDL is not transactional, so this cannot be one transaction as on PostgreSQL. What can make it stop
   * halfway is ruled out first by the caller (other sessions, missing privileges), and a lock that is not granted
   * fails within 30 s instead of waiting for ever. {@code DROP DATABASE} drops table by table (each drop atomic,
   * the whole crash-safe from MariaDB 10.6): should it still fail, this drops it again, so that the database ends
   * empty rather than half-emptied; only if that fails too is the first failure thrown, and the database may then be
   * partly emptied (the message says so).
   *
   * @return how many tables, views, routines and events were dropped
   */
  static long empty(Connection c, String database) throws SQLException {
    String charset;
    String collation;
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")) {
      ps.setString(1, database);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return 0;
        }
        charset = rs.getString(1);
        collation = rs.getString(2);
      }
    }
    long objects = contents(c, database).total();
    try (Statement st = c.createStatement()) {
      st.execute("SET SESSION lock_wait_timeout = 30");
      try {
        st.execute("DROP DATABASE " + ident(database));
      } catch (SQLException first) {
        try {
          st.execute("DROP DATABASE IF EXISTS " + ident(database));
        } catch (SQLException again) {
          first.addSuppressed(again);
          throw first;
        }
      }
      st.execute("CREATE DATABASE " + ident(database) + " CHARACTER SET " + charset + " COLLATE " + collation);
    }
    return objects;
  }

  static String ident(String name) {
    return "`" + name.replace("`", "``") + "`";
  }
}
