package dev.snapstash.strategy.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Artifact;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.RestoreContext;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The real-database part of the contract: round trips through a real server, refusal of a non-empty target,
 * wrong passwords, interrupts, damaged dumps. One subclass per strategy, against a private server.
 *
 * @param <D> a handle on one test database
 */
public abstract class DumpingDatabaseStrategyContract<D> extends DatabaseStrategyContract {
  protected static final List<String> SAMPLE_TABLES = List.of("repository", "push_ledger");

  /** A fresh, empty target: an empty database (H2: a location with no database file yet). */
  protected abstract D newDatabase() throws Exception;

  protected abstract Connection connect(D db) throws SQLException;

  /** The strategy configured to back up from, or restore into, {@code db}. */
  protected abstract DatabaseStrategy strategyFor(D db);

  protected abstract DatabaseStrategy strategyWithWrongPassword(D db);

  /** "database.postgresql.password" and so on. */
  protected abstract String passwordKey();

  /** The SQL type of a binary column. */
  protected abstract String binaryType();

  /** The password of {@code db}, to prove it never shows in a process's arguments. */
  protected abstract String password(D db);

  /** The home a restore into {@code db} uses (only H2 places its database by it). */
  protected Path homeOf(D db) {
    return tmp.resolve("home-target");
  }

  /**
   * Makes the dump block until closed (a lock the dump must wait for), or null when the database offers none; the
   * interrupt test then interrupts before the backup starts.
   */
  protected AutoCloseable blockDump(D db) throws Exception {
    return null;
  }

  /** The dump program's executable name, to find it among this JVM's child processes. */
  protected String dumpProgram() {
    return "";
  }

  private D source;

  @Override
  protected DatabaseStrategy strategy() throws Exception {
    return strategyFor(source());
  }

  protected D source() throws Exception {
    if (source == null) {
      source = newDatabase();
      populate(source);
    }
    return source;
  }

  protected void populate(D db) throws SQLException {
    try (Connection c = connect(db);
        Statement st = c.createStatement()) {
      st.execute("CREATE TABLE repository (id INT PRIMARY KEY, slug VARCHAR(128) NOT NULL, name VARCHAR(255))");
      st.execute("CREATE TABLE push_ledger (id BIGINT PRIMARY KEY, repository_id INT NOT NULL, ref_name VARCHAR(1024) NOT NULL,"
          + " old_sha CHAR(40), new_sha CHAR(40), pushed_at BIGINT NOT NULL, payload " + binaryType() + ")");
      st.execute("CREATE INDEX push_ledger_repo ON push_ledger (repository_id)");
      st.execute("INSERT INTO repository VALUES (1, 'alpha', 'Alpha'), (2, 'beta', 'Ünïcödé 🚀 ''quoted'' \\ back'), (3, 'gamma', NULL)");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO push_ledger VALUES (?, ?, ?, ?, ?, ?, ?)")) {
        for (int i = 1; i <= 300; i++) {
          ps.setLong(1, i);
          ps.setInt(2, 1 + i % 3);
          ps.setString(3, "refs/heads/feature/" + i + (i % 7 == 0 ? "-ünï" : ""));
          ps.setString(4, sha(i));
          ps.setString(5, sha(i + 1));
          ps.setLong(6, 1_700_000_000_000L + i);
          ps.setBytes(7, i % 10 == 0 ? null : new byte[] {0, (byte) 0xff, '\'', '\\', (byte) i, '\n', '"'});
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
  }

  private static String sha(int i) {
    return String.format(Locale.ROOT, "%040x", (long) i * 2654435761L);
  }

  /** Every row of the sample tables, in id order, values as text (bytes as hex). */
  protected Map<String, List<String>> contents(D db) throws SQLException {
    Map<String, List<String>> out = new LinkedHashMap<>();
    try (Connection c = connect(db)) {
      for (String t : SAMPLE_TABLES) {
        out.put(t, rows(c, t));
      }
    }
    return out;
  }

  protected static List<String> rows(Connection c, String table) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT * FROM " + table + " ORDER BY id")) {
      ResultSetMetaData md = rs.getMetaData();
      while (rs.next()) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i <= md.getColumnCount(); i++) {
          Object v = rs.getObject(i);
          b.append(i > 1 ? " | " : "").append(v instanceof byte[] bytes ? HexFormat.of().formatHex(bytes) : String.valueOf(v));
        }
        rows.add(b.toString());
      }
    }
    return rows;
  }

  /** The user tables of the database, lower-case. */
  protected Set<String> tables(D db) throws SQLException {
    Set<String> names = new TreeSet<>();
    try (Connection c = connect(db)) {
      DatabaseMetaData md = c.getMetaData();
      try (ResultSet rs = md.getTables(c.getCatalog(), null, "%", new String[] {"TABLE"})) {
        while (rs.next()) {
          String schema = String.valueOf(rs.getString("TABLE_SCHEM")).toLowerCase(Locale.ROOT);
          if (!schema.equals("information_schema") && !schema.startsWith("pg_")) {
            names.add(rs.getString("TABLE_NAME").toLowerCase(Locale.ROOT));
          }
        }
      }
    }
    return names;
  }

  // ---------------------------------------------------------------------------------------------------------

  @Test
  void roundTripRestoresEveryRowIntoAFreshDatabase() throws Exception {
    D src = source();
    BackupContext b = backupContext("roundtrip");
    CopyResult r = strategyFor(src).backup(b);
    assertThat(r.artifacts()).isNotEmpty();
    assertThat(r.details()).containsKeys("tool", "format");
    assertThat(progressLines).anyMatch(l -> l.startsWith("database 0.0")).anyMatch(l -> l.startsWith("database 1.0"));

    D target = newDatabase();
    DatabaseStrategy into = strategyFor(target);
    RestoreContext rc = restoreContext(b, homeOf(target), false);
    into.prepareRestore(rc);
    into.restore(rc);

    assertThat(contents(target)).isEqualTo(contents(src));
    assertThat(contents(target).get("push_ledger")).hasSize(300);
    assertThat(tables(target)).containsAll(SAMPLE_TABLES);
  }

  @Test
  void refusesANonEmptyTargetWithoutForceAndWritesNothing() throws Exception {
    BackupContext b = backupContext("refuse");
    strategyFor(source()).backup(b);
    D target = newDatabase();
    try (Connection c = connect(target);
        Statement st = c.createStatement()) {
      st.execute("CREATE TABLE keep_me (id INT PRIMARY KEY, note VARCHAR(20))");
      st.execute("INSERT INTO keep_me VALUES (7, 'precious')");
    }
    DatabaseStrategy into = strategyFor(target);
    RestoreContext rc = restoreContext(b, homeOf(target), false);

    assertThatThrownBy(() -> into.prepareRestore(rc))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION))
        .hasMessageContaining("--force");
    assertThatThrownBy(() -> into.restore(rc))
        .as("restore refuses too, even if prepareRestore was skipped")
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION));

    assertThat(tables(target)).containsExactly("keep_me");
    try (Connection c = connect(target)) {
      assertThat(rows(c, "keep_me")).containsExactly("7 | precious");
    }
  }

  /**
   * --force "replaces a database with tables": afterwards the target must hold what the backup holds and
   * nothing else. A table the backup does not have (one a later Bitbucket version added before a rollback) stays.
   */
  @Test
  void aForcedRestoreLeavesNoTableTheBackupDoesNotHave() throws Exception {
    D src = source();
    D target = forcedRestoreOver(src, "force-extra", "CREATE TABLE added_by_a_later_version (id INT PRIMARY KEY)");
    assertThat(contents(target)).isEqualTo(contents(src));
    assertThat(tables(target)).as("the restored database's tables").isEqualTo(tables(src));
  }

  @Test
  void forcedRestoreReplacesTheTargetsTables() throws Exception {
    D src = source();
    D target =
        forcedRestoreOver(src, "force", "DELETE FROM push_ledger WHERE id > 10", "UPDATE repository SET name = 'changed'");
    assertThat(contents(target)).isEqualTo(contents(src));
  }

  /**
   * A backup of {@code src} restored with --force into a new, populated database that {@code statements} changed
   * first; returns that database.
   */
  private D forcedRestoreOver(D src, String tag, String... statements) throws Exception {
    BackupContext b = backupContext(tag);
    strategyFor(src).backup(b);
    D target = newDatabase();
    populate(target);
    try (Connection c = connect(target);
        Statement st = c.createStatement()) {
      for (String sql : statements) {
        st.execute(sql);
      }
    }
    DatabaseStrategy into = strategyFor(target);
    RestoreContext rc = restoreContext(b, homeOf(target), true);
    into.prepareRestore(rc);
    into.restore(rc);
    return target;
  }

  @Test
  void wrongPasswordIsAnAuthenticationErrorNamingTheKey() throws Exception {
    DatabaseStrategy wrong = strategyWithWrongPassword(source());
    Findings f = new Findings();
    wrong.check(f);
    assertThat(f.problems()).anyMatch(p -> p.message().contains(passwordKey()));

    BackupContext b = backupContext("wrong-password");
    assertThatThrownBy(() -> wrong.backup(b))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isIn(ErrorKind.AUTHENTICATION, ErrorKind.CONFIG))
        .hasMessageContaining(passwordKey());
    wrong.cleanupIncomplete(b);
    assertThat(b.databaseDir()).doesNotExist();
  }

  @Test
  void interruptedBackupThrowsAndLeavesNoProcessBehind() throws Exception {
    D src = source();
    DatabaseStrategy s = strategyFor(src);
    BackupContext b = backupContext("interrupt");
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    try (AutoCloseable block = blockDump(src)) {
      Thread t = new Thread(() -> {
        try {
          if (block == null) {
            Thread.currentThread().interrupt();
          }
          s.backup(b);
        } catch (Throwable e) {
          thrown.set(e);
        }
      }, "backup under test");
      t.start();
      if (block != null) {
        await().atMost(Duration.ofSeconds(20)).until(() -> !dumpProcesses().isEmpty());
        for (ProcessHandle h : dumpProcesses()) {
          String cmdline = Files.readString(Path.of("/proc", Long.toString(h.pid()), "cmdline"), StandardCharsets.UTF_8);
          assertThat(cmdline).as("arguments of the running dump").doesNotContain(password(src));
          assertThat(h.info().arguments().map(a -> String.join(" ", a)).orElse("")).doesNotContain(password(src));
        }
        t.interrupt();
      }
      t.join(Duration.ofSeconds(30).toMillis());
      assertThat(t.isAlive()).as("backup returned after the interrupt").isFalse();
    }
    assertThat(thrown.get())
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERRUPTED));
    assertThat(dumpProcesses()).isEmpty();
    s.cleanupIncomplete(b);
    assertThat(b.databaseDir()).doesNotExist();
  }

  @Test
  void verifyCatchesATruncatedDump() throws Exception {
    DatabaseStrategy s = strategyFor(source());
    BackupContext b = backupContext("truncated");
    CopyResult r = s.backup(b);
    Artifact biggest = r.artifacts().stream().max(Comparator.comparingLong(Artifact::bytes)).orElseThrow();
    try (RandomAccessFile f = new RandomAccessFile(b.backupDir().resolve(biggest.path()).toFile(), "rw")) {
      f.setLength(biggest.bytes() / 2);
    }
    Findings found = new Findings();
    s.verify(restoreContext(b, tmp.resolve("nowhere"), false), found);
    assertThat(found.problems()).isNotEmpty();
  }

  private List<ProcessHandle> dumpProcesses() {
    if (dumpProgram().isEmpty()) {
      return List.of();
    }
    return ProcessHandle.current().descendants()
        .filter(ProcessHandle::isAlive)
        .filter(h -> h.info().command().map(c -> c.endsWith("/" + dumpProgram())).orElse(false))
        .toList();
  }

  /** For subclasses: a file's content is unchanged. */
  protected static byte[] read(Path p) throws Exception {
    return Files.readAllBytes(p);
  }
}
