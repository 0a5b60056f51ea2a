package dev.snapstash.core.stage;

import dev.snapstash.core.engine.BitbucketProperties;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.DatabaseAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Applies the rules a refresh runs, in order, each in its own transaction with its verification: a rule whose
 * statement fails or whose verification does not hold is rolled back (its property edits too) and stops the run,
 * naming the rule. Every rule is measured before and after, for the audit. Applying the same rules twice changes
 * nothing the second time.
 */
public final class RuleRunner {
  /** What became of one rule. */
  public enum Status {
    APPLIED,
    /** Would run: in a plan, which changes nothing. */
    PLANNED,
    SKIPPED,
    FAILED
  }

  /** One property the rule changed; values of secret-looking keys are redacted. */
  public record PropertyChange(String key, String from, String to) {}

  /**
   * One rule in the audit.
   *
   * @param before the verification query's value before the edit (rows matched, or the old value), per table
   * @param after its value afterwards
   * @param rowsChanged rows the statements changed, in all
   * @param verified null when the rule did not run
   */
  public record Outcome(
      String id, String source, String description, String bitbucket, Status status, String reason,
      List<String> statements, List<String> tables, List<String> before, List<String> after, long rowsChanged,
      List<PropertyChange> properties, Boolean verified) {}

  /** The outcomes in rule order, and the failure that stopped the run (null when none did). */
  public record Result(List<Outcome> outcomes, SnapstashException failure) {}

  private static final Pattern SECRET_KEY = Pattern.compile("(?i).*(password|secret|token|license|licence|key)$");
  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z0-9_]+");

  private final Connection connection;
  private final Path home;
  private final Parameters parameters;
  private final boolean mysql;

  /**
   * @param connection to the staging database; its auto-commit is turned off here
   * @param home the staging home, whose {@code shared/bitbucket.properties} property edits change
   */
  public RuleRunner(Connection connection, Path home, Parameters parameters) throws SQLException {
    this.connection = connection;
    this.home = home;
    this.parameters = parameters;
    String product = connection.getMetaData().getDatabaseProductName().toLowerCase(Locale.ROOT);
    this.mysql = product.contains("mysql") || product.contains("mariadb");
    connection.setAutoCommit(false);
    if (mysql) {
      // Rules quote AO_ tables as the SQL standard does ("AO_A0B856_WEBHOOK"), as PostgreSQL needs; ANSI_QUOTES
      // makes MySQL and MariaDB read them the same way, so one rule serves both.
      try (var s = connection.createStatement()) {
        s.execute("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',ANSI_QUOTES')");
      }
      connection.commit();
    }
  }

  /** Runs the rules that run, records the others as skipped, and stops at the first failure. */
  public Result run(List<RuleSet.Decision> decisions) {
    List<Outcome> out = new ArrayList<>();
    SnapstashException failure = null;
    for (RuleSet.Decision d : decisions) {
      SanitiseRule r = d.entry().rule();
      if (failure != null) {
        out.add(outcome(d, Status.SKIPPED, "not reached: rule " + failureId(failure) + " failed before it", null));
      } else if (!d.runs()) {
        out.add(outcome(d, Status.SKIPPED, d.reason(), null));
      } else {
        try {
          out.add(apply(d));
        } catch (RuleFailure f) {
          out.add(f.outcome);
          failure = f.error;
        }
      }
      Objects.requireNonNull(r);
    }
    return new Result(List.copyOf(out), failure);
  }

  private static String failureId(SnapstashException e) {
    String m = e.getMessage();
    return m.startsWith("staging rule ") ? m.substring(13, m.indexOf(' ', 13)) : "?";
  }

  private Outcome outcome(RuleSet.Decision d, Status status, String reason, Boolean verified) {
    return planned(d, parameters, status, reason, verified);
  }

  /** A rule as a plan shows it: what it would run (PLANNED) or why it would not (SKIPPED); nothing measured. */
  public static Outcome plan(RuleSet.Decision d, Parameters parameters) {
    return planned(d, parameters, d.runs() ? Status.PLANNED : Status.SKIPPED, d.reason(), null);
  }

  private static Outcome planned(RuleSet.Decision d, Parameters parameters, Status status, String reason, Boolean verified) {
    SanitiseRule r = d.entry().rule();
    List<PropertyChange> edits = new ArrayList<>();
    if (r.properties() != null) {
      r.properties().remove().forEach(k -> edits.add(new PropertyChange(k, "(any)", null)));
      r.properties().set().forEach((k, v) -> edits.add(new PropertyChange(k, "(any)", redact(k, parameters.show(v)))));
    }
    return new Outcome(r.id(), d.entry().source(), r.description(), r.bitbucket(), status, reason,
        r.sql(), r.table() == null ? List.of() : List.of(r.table()), List.of(),
        List.of(), 0, status == Status.PLANNED ? List.copyOf(edits) : List.of(), verified);
  }

  private static final class RuleFailure extends Exception {
    final Outcome outcome;
    final SnapstashException error;

    RuleFailure(Outcome outcome, SnapstashException error) {
      super(error.getMessage(), null, false, false);
      this.outcome = outcome;
      this.error = error;
    }
  }

  private Outcome apply(RuleSet.Decision d) throws RuleFailure {
    SanitiseRule r = d.entry().rule();
    List<String> tables = new ArrayList<>();
    List<String> before = new ArrayList<>();
    List<String> after = new ArrayList<>();
    List<PropertyChange> changes = new ArrayList<>();
    long rows = 0;
    byte[] propertiesBefore = null;
    Path propertiesFile = home.resolve(BitbucketProperties.RELATIVE_PATH);
    try {
      List<String> targets = new ArrayList<>();
      if (r.table() != null) {
        targets.addAll(tables(r.table()));
        if (targets.isEmpty()) {
          return outcome(d, Status.SKIPPED, "no table " + r.table() + " in the staging database", null);
        }
        tables.addAll(targets);
      } else {
        targets.add(null);
      }
      List<String> problems = new ArrayList<>();
      for (String table : targets) {
        String b = measure(r, table);
        before.add(b);
        for (String sql : r.sql()) {
          rows += execute(withTable(sql, table));
        }
        String a = measure(r, table);
        after.add(a);
        if (r.verify().sql() != null) {
          String expected = parameters.substitute(r.verify().expect());
          if (!expected.equals(a)) {
            problems.add("its verification " + (table == null ? "" : "on " + table + " ") + "returned "
                + shownValue(a) + ", not " + parameters.show(r.verify().expect()));
          }
        }
      }
      if (r.properties() != null && (!r.properties().remove().isEmpty() || !r.properties().set().isEmpty())) {
        propertiesBefore = Files.exists(propertiesFile) ? Files.readAllBytes(propertiesFile) : null;
        changes.addAll(editProperties(r));
      }
      problems.addAll(checkProperties(r));
      if (!problems.isEmpty()) {
        throw failed(d, tables, before, after, rows, changes,
            new SnapstashException(ErrorKind.VERIFICATION, "staging rule " + r.id() + " failed: " + problems.get(0)
                + "; it was rolled back and the refresh stopped (fix the rule, or skip it with stage.skip-rules)"),
            propertiesBefore, propertiesFile);
      }
      connection.commit();
      return new Outcome(r.id(), d.entry().source(), r.description(), r.bitbucket(), Status.APPLIED, null,
          r.sql(), List.copyOf(tables), java.util.Collections.unmodifiableList(before), java.util.Collections.unmodifiableList(after),
          rows, List.copyOf(changes), true);
    } catch (SQLException e) {
      throw failed(d, tables, before, after, rows, changes,
          new SnapstashException(ErrorKind.CONFIG, "staging rule " + r.id() + " failed: the staging database refused it ("
              + firstLine(e.getMessage()) + "); it was rolled back and the refresh stopped (fix the rule in "
              + d.entry().source() + ", or skip it with stage.skip-rules)"),
          propertiesBefore, propertiesFile);
    } catch (IOException e) {
      throw failed(d, tables, before, after, rows, changes,
          SnapstashException.storage("staging rule " + r.id() + " failed: cannot edit " + propertiesFile + ": "
              + e.getMessage() + "; it was rolled back and the refresh stopped", e),
          propertiesBefore, propertiesFile);
    }
  }

  private RuleFailure failed(
      RuleSet.Decision d, List<String> tables, List<String> before, List<String> after, long rows,
      List<PropertyChange> changes, SnapstashException error, byte[] propertiesBefore, Path propertiesFile) {
    try {
      connection.rollback();
    } catch (SQLException e) {
      error.addSuppressed(new SnapstashException(ErrorKind.UNREACHABLE, "the rollback failed too: " + firstLine(e.getMessage())));
    }
    if (propertiesBefore != null) {
      try {
        Files.write(propertiesFile, propertiesBefore);
      } catch (IOException e) {
        error.addSuppressed(SnapstashException.storage("cannot put " + propertiesFile + " back: " + e.getMessage(), e));
      }
    }
    SanitiseRule r = d.entry().rule();
    Outcome o = new Outcome(r.id(), d.entry().source(), r.description(), r.bitbucket(), Status.FAILED, error.getMessage(),
        r.sql(), List.copyOf(tables), java.util.Collections.unmodifiableList(before), java.util.Collections.unmodifiableList(after),
        rows, List.copyOf(changes), false);
    return new RuleFailure(o, error);
  }

  private static String firstLine(String s) {
    return s == null ? "no message" : s.lines().findFirst().orElse("");
  }

  private String shownValue(String value) {
    // A verification may read a secret back (the licence); never print what it returned then.
    return parameters.has("license") && value != null && value.equals(parameters.value("license")) ? Parameters.REDACTED
        : value == null ? "no row" : "'" + value + "'";
  }

  /** The tables named by {@code pattern} (SQL LIKE, '%' only), as the database spells them. */
  private List<String> tables(String pattern) throws SQLException {
    String sql = mysql
        ? "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
        : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()";
    Pattern p = Pattern.compile(("\\Q" + pattern.replace("%", "\\E.*\\Q") + "\\E"), Pattern.CASE_INSENSITIVE);
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = connection.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        String t = rs.getString(1);
        if (p.matcher(t).matches() && IDENTIFIER.matcher(t).matches()) {
          out.add(t);
        }
      }
    }
    out.sort(null);
    return out;
  }

  private static String withTable(String sql, String table) {
    return table == null ? sql : sql.replace("${table}", "\"" + table + "\"");
  }

  private String measure(SanitiseRule r, String table) throws SQLException {
    if (r.verify().sql() == null) {
      return null;
    }
    Parameters.Bound b = parameters.bind(withTable(r.verify().sql(), table));
    try (PreparedStatement ps = connection.prepareStatement(b.sql())) {
      bind(ps, b.values());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private long execute(String sql) throws SQLException {
    Parameters.Bound b = parameters.bind(sql);
    try (PreparedStatement ps = connection.prepareStatement(b.sql())) {
      bind(ps, b.values());
      return ps.executeUpdate();
    }
  }

  private static void bind(PreparedStatement ps, List<String> values) throws SQLException {
    for (int i = 0; i < values.size(); i++) {
      ps.setString(i + 1, values.get(i));
    }
  }

  private List<PropertyChange> editProperties(SanitiseRule r) {
    Map<String, String> set = new LinkedHashMap<>();
    List<PropertyChange> changes = new ArrayList<>();
    for (var e : r.properties().set().entrySet()) {
      String value = parameters.substitute(e.getValue());
      String old = BitbucketProperties.get(home, e.getKey());
      if (!value.equals(old)) {
        set.put(e.getKey(), value);
        changes.add(new PropertyChange(e.getKey(), redact(e.getKey(), old), redact(e.getKey(), parameters.show(e.getValue()))));
      }
    }
    java.util.Set<String> remove = new java.util.LinkedHashSet<>();
    for (String key : r.properties().remove()) {
      String old = BitbucketProperties.get(home, key);
      if (old != null) {
        remove.add(key);
        changes.add(new PropertyChange(key, redact(key, old), null));
      }
    }
    if (!set.isEmpty() || !remove.isEmpty()) {
      BitbucketProperties.update(home, set, remove, "removed by snapstash stage, rule " + r.id());
    }
    return changes;
  }

  private static String redact(String key, String value) {
    return value == null ? null : SECRET_KEY.matcher(key).matches() ? Parameters.REDACTED : value;
  }

  private List<String> checkProperties(SanitiseRule r) {
    List<String> problems = new ArrayList<>();
    SanitiseRule.Verification v = r.verify();
    for (String key : v.absent()) {
      if (BitbucketProperties.get(home, key) != null) {
        problems.add("shared/bitbucket.properties still sets " + key);
      }
    }
    for (var e : v.equal().entrySet()) {
      String actual = BitbucketProperties.get(home, e.getKey());
      if (!parameters.substitute(e.getValue()).equals(actual)) {
        problems.add("shared/bitbucket.properties has " + e.getKey() + " = " + redact(e.getKey(), actual) + ", not "
            + parameters.show(e.getValue()));
      }
    }
    if (v.stagingDatabase() != null) {
      String actual = BitbucketProperties.get(home, v.stagingDatabase());
      var want = DatabaseAddress.parse(parameters.value("staging-jdbc-url"));
      var have = DatabaseAddress.parse(actual);
      if (want.isEmpty() || have.isEmpty() || !have.get().sameDatabaseAs(want.get())) {
        problems.add("shared/bitbucket.properties " + v.stagingDatabase() + " names "
            + have.map(Object::toString).orElse(actual == null ? "nothing" : "a URL snapstash cannot read")
            + ", not the staging database " + want.map(Object::toString).orElse("?"));
      }
    }
    return problems;
  }
}
