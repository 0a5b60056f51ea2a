package dev.snapstash.strategy.database.postgresql;

import dev.snapstash.strategy.database.postgresql.PostgresSettings;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Artifact;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.strategy.database.DumpFiles;
import dev.snapstash.core.util.PrivateFiles;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backs up a PostgreSQL database with {@code pg_dump -Fd -j N} (directory format, parallel workers sharing one
 * synchronized snapshot, so the copy is consistent) into {@code database/dump}, and restores it with {@code
 * pg_restore -j N}.
 *
 * <p>The password reaches the tools through a 0600 {@code PGPASSFILE} in a private temporary directory that is
 * deleted afterwards; never through argv or {@code PGPASSWORD}. Before dumping, a JDBC connection checks the
 * credentials so a wrong password is reported as such, naming {@code database.postgresql.password}.
 */
public final class PostgresDumpStrategy implements DatabaseStrategy {
  private static final Logger log = LoggerFactory.getLogger(PostgresDumpStrategy.class);

  public static final String NAME = "postgresql";
  static final String KEY = "database.postgresql";
  static final String DUMP_DIR = "dump";
  private static final Pattern TABLE_DATA = Pattern.compile("^(\\d+);.*\\bTABLE DATA\\b.*");

  private final PostgresSettings config;
  private final ProcessRunner runner;
  private final PostgresTools tools;

  /**
   * @throws SnapstashException (CONFIG) naming the first invalid key of the {@code database.postgresql} section
   */
  public PostgresDumpStrategy(PostgresSettings config, ProcessRunner runner) {
    this.config = validate(config);
    this.runner = runner;
    this.tools = PostgresTools.of(this.config, runner);
  }

  /** Checks the section; returns it unchanged or throws CONFIG naming the key. */
  public static PostgresSettings validate(PostgresSettings c) {
    if (c == null || c.password() == null) {
      throw SnapstashException.config(KEY + ".password is required when database.type is postgresql");
    }
    if (c.host() == null || c.host().isBlank()) {
      throw SnapstashException.config(KEY + ".host must not be empty");
    }
    if (c.port() < 1 || c.port() > 65535) {
      throw SnapstashException.config(KEY + ".port must be between 1 and 65535, not " + c.port());
    }
    if (c.database() == null || c.database().isBlank()) {
      throw SnapstashException.config(KEY + ".database must not be empty");
    }
    if (c.database().contains("=") || c.database().contains("://") || c.database().startsWith("-")) {
      throw SnapstashException.config(KEY + ".database must be a plain database name, not a connection string: " + c.database());
    }
    if (c.username() == null || c.username().isBlank() || c.username().startsWith("-")) {
      throw SnapstashException.config(KEY + ".username must be a user name");
    }
    if (c.jobs() < 1 || c.jobs() > 64) {
      throw SnapstashException.config(KEY + ".jobs must be between 1 and 64, not " + c.jobs());
    }
    if (c.binDir() != null && !c.binDir().isBlank() && !Files.isDirectory(Path.of(c.binDir()))) {
      throw SnapstashException.config(KEY + ".bin-dir " + c.binDir() + " is not a directory");
    }
    return c;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public java.util.Set<dev.snapstash.core.spi.Capability> capabilities() {
    return java.util.Set.of(
        dev.snapstash.core.spi.Capability.OWNS_EMBEDDED_DATABASE_FILES, dev.snapstash.core.spi.Capability.SCRATCH_RESTORE);
  }

  // ---------------------------------------------------------------------------------------------------------

  @Override
  public void check(Findings findings) {
    String where = config.host() + ":" + config.port();
    Optional<PostgresTools.Tool> dump = tools.check(findings, "pg_dump");
    tools.check(findings, "pg_restore");
    String secretProblem = config.password().problem();
    if (secretProblem != null) {
      findings.problem(KEY + ".password", secretProblem, dev.snapstash.core.error.ErrorKind.CONFIG);
      return;
    }
    try (Connection c = connect(config.database())) {
      ServerFacts facts = facts(c);
      findings.ok(NAME, "PostgreSQL " + facts.version() + " at " + where + ", database " + config.database() + " (" + facts.relations() + " relations)");
      dump.ifPresent(t -> {
        if (!t.canDump(facts.versionNum())) {
          findings.problem(KEY + ".bin-dir", PostgresTools.mismatch(t, facts.version()));
        }
      });
    } catch (SQLException e) {
      SnapstashException x = describe(e, config.database());
      findings.problem(NAME, x);
    }
  }

  @Override
  public CopyResult backup(BackupContext context) {
    return backup(context, tools.require("pg_dump"));
  }

  private CopyResult backup(BackupContext context, PostgresTools.Tool pgDump) {
    ServerFacts facts;
    try (Connection c = connect(config.database())) {
      facts = checkedFacts(c, pgDump);
    } catch (SQLException e) {
      throw describe(e, config.database());
    }
    return dump(context, pgDump, facts, java.util.Optional.empty());
  }

  /**
   * Finds pg_dump and its version before the lock (the preflight's answer, see {@link
   * dev.snapstash.strategy.database.ClientTools}): running {@code pg_dump --version} costs tens of milliseconds
   * that would otherwise be downtime. With {@code dump-after-unlock}, the session that will pin the snapshot is
   * opened now too, and the server's facts read: connecting (TCP, SCRAM) takes tens to hundreds of milliseconds.
   * Its transaction starts, and its snapshot is taken, only under the lock.
   */
  @Override
  public Run prepareBackup(BackupContext context) {
    PostgresTools.Tool pgDump = tools.require("pg_dump");
    return new BackupRun(pgDump, config.dumpAfterUnlock() ? openSession(pgDump) : null);
  }

  /**
   * A session ready to pin a snapshot: the server's facts read first (in autocommit, so no transaction starts),
   * then readied; closed again if any of it fails.
   */
  private Session openSession(PostgresTools.Tool pgDump) {
    Connection c = null;
    try {
      c = connect(config.database());
      ServerFacts facts = checkedFacts(c, pgDump);
      return new Session(PinnedSnapshot.prepare(c), facts);
    } catch (SQLException e) {
      closeQuietly(c);
      throw describe(e, config.database());
    } catch (RuntimeException e) {
      closeQuietly(c);
      throw e;
    }
  }

  /** A session opened before the lock, owned by the run's capture once it takes it. */
  private record Session(PinnedSnapshot snapshot, ServerFacts facts) {}

  /**
   * One backup: pg_dump as found before the lock, and the session opened then, until the capture takes it over
   * (or {@link #close} closes it, when the backup fails before its capture).
   */
  private final class BackupRun implements Run {
    private final PostgresTools.Tool pgDump;
    private final java.util.concurrent.atomic.AtomicReference<Session> prepared;

    BackupRun(PostgresTools.Tool pgDump, Session prepared) {
      this.pgDump = pgDump;
      this.prepared = new java.util.concurrent.atomic.AtomicReference<>(prepared);
    }

    /**
     * Under the lock: pins the snapshot ({@link PinnedSnapshot}); {@link Pending#finish()} then runs pg_dump from it
     * after the unlock while the session holds it, so the dump is exactly what a dump under the lock would have
     * been, at no cost in downtime.
     */
    @Override
    public Pending capture(BackupContext context) {
      if (!config.dumpAfterUnlock()) {
        return Pending.done(backup(context, pgDump));
      }
      Session taken = prepared.getAndSet(null);
      Session session = taken != null ? taken : openSession(pgDump);
      PinnedSnapshot pinned = session.snapshot();
      try {
        String snapshot = pinned.pin();
        context.progress().report("database", 0, "snapshot " + snapshot + " pinned; pg_dump runs after the unlock");
        FaultPoints.hit(FaultPoints.DURING_DATABASE_COPY);
        return new Pending() {
          @Override
          public CopyResult finish() {
            return dump(context, pgDump, session.facts(), java.util.Optional.of(snapshot));
          }

          @Override
          public void close() {
            pinned.close();
          }
        };
      } catch (SQLException e) {
        pinned.close();
        throw describe(e, config.database());
      } catch (RuntimeException e) {
        pinned.close();
        throw e;
      }
    }

    @Override
    public void close() {
      Session left = prepared.getAndSet(null);
      if (left != null) {
        left.snapshot().close();
      }
    }
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // already failing
      }
    }
  }

  private ServerFacts checkedFacts(Connection c, PostgresTools.Tool pgDump) throws SQLException {
    ServerFacts facts = facts(c);
    if (!pgDump.canDump(facts.versionNum())) {
      throw SnapstashException.precondition(PostgresTools.mismatch(pgDump, facts.version()));
    }
    return facts;
  }

  private CopyResult dump(BackupContext context, PostgresTools.Tool pgDump, ServerFacts facts, java.util.Optional<String> snapshot) {
    Progress progress = context.progress();
    Path databaseDir = context.databaseDir();
    Path dumpDir = databaseDir.resolve(DUMP_DIR);
    DumpFiles.createDirectories(context.modes(), databaseDir);
    DumpFiles.deleteRecursively(dumpDir);
    progress.report("database", 0, "pg_dump of " + config.database() + " at " + config.host() + ":" + config.port());
    String password = config.password().reveal();
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pg_dump progress");
      t.setDaemon(true);
      return t;
    });
    try (PrivateFiles secrets = PrivateFiles.create(context.backupRoot(), "snapstash-pg")) {
      Path passFile = secrets.write("pgpass", PostgresCommands.pgpassLine(config.username(), password));
      ticker.scheduleWithFixedDelay(() -> reportFiles(progress, dumpDir, facts.tables()), 500, 500, TimeUnit.MILLISECONDS);
      runner.run(PostgresCommands.dump(pgDump.path(), config, dumpDir, passFile, snapshot).withSecret(password));
    } finally {
      ticker.shutdownNow();
    }
    List<Artifact> artifacts = DumpFiles.artifacts(context.backupDir(), dumpDir, config.jobs());
    DumpFiles.writeChecksums(context.modes(), context.backupDir(), databaseDir, artifacts);
    long bytes = DumpFiles.totalBytes(artifacts);
    progress.report("database", 1.0, artifacts.size() + " dump files, " + bytes + " bytes");
    Map<String, String> details = new LinkedHashMap<>();
    details.put("tool", pgDump.version());
    details.put("format", "pg_dump directory (-Fd)");
    details.put("jobs", Integer.toString(config.jobs()));
    details.put("server-version", facts.version());
    details.put("database", config.database());
    snapshot.ifPresent(id -> details.put("snapshot", "exported under the lock, dumped after the unlock"));
    return new CopyResult(NAME, bytes, artifacts.size(), bytes, artifacts, details);
  }

  @Override
  public void cleanupIncomplete(BackupContext context) {
    DumpFiles.deleteRecursively(context.databaseDir());
  }

  @Override
  public void prepareRestore(RestoreContext context) {
    requireDump(context);
    if (!targetState(context.force())) {
      requireCreatable();
    }
  }

  @Override
  public void restore(RestoreContext context) {
    Path dumpDir = requireDump(context);
    boolean exists = targetState(context.force());
    Progress progress = context.progress();
    progress.report("database", 0, "pg_restore into " + config.database() + " at " + config.host() + ":" + config.port());
    if (!exists) {
      createDatabase();
    } else if (context.force()) {
      emptyDatabase();
    }
    PostgresTools.Tool pgRestore = tools.require("pg_restore");
    String password = config.password().reveal();
    try (PrivateFiles secrets = PrivateFiles.create(context.backupRoot(), "snapstash-pg")) {
      Path passFile = secrets.write("pgpass", PostgresCommands.pgpassLine(config.username(), password));
      runner.run(PostgresCommands.restore(pgRestore.path(), config, dumpDir, passFile, exists && context.force()).withSecret(password));
    }
    progress.report("database", 1.0, "restored " + config.database());
  }

  @Override
  public Optional<dev.snapstash.core.spi.JdbcLogin> restoredDatabase() {
    return Optional.of(new dev.snapstash.core.spi.JdbcLogin(
        new dev.snapstash.core.spi.DatabaseAddress(NAME, config.host(), config.port(), config.database()), config.username(), config.password()));
  }

  @Override
  public Optional<Connection> connectRestored(RestoreContext context) throws SQLException {
    return Optional.of(connect(config.database()));
  }

  /** A private PostgreSQL server's database, restored into with this strategy's jobs and tools. */
  @Override
  public Optional<dev.snapstash.core.spi.ScratchDatabase.Factory> scratch(Path workDir) {
    return Optional.of(home -> dev.snapstash.strategy.database.ScratchServers.start(
        workDir.resolve("postgresql"),
        () -> dev.snapstash.core.localdb.PostgresServer.start(workDir.resolve("postgresql"), 0, runner, false),
        login -> new PostgresDumpStrategy(
            new PostgresSettings(login.host(), login.port(), login.database(), login.user(), login.password(), config.jobs(),
                config.binDir(), config.dumpAfterUnlock()),
            runner)));
  }

  @Override
  public void verify(RestoreContext context, Findings findings) {
    Path dumpDir = context.databaseDir().resolve(DUMP_DIR);
    if (!Files.isRegularFile(dumpDir.resolve("toc.dat"))) {
      findings.problem(NAME, "backup " + context.tag() + " has no PostgreSQL dump (" + dumpDir.resolve("toc.dat") + " is missing)");
      return;
    }
    List<String> problems = new ArrayList<>(DumpFiles.verifyChecksums(context.databaseDir()));
    Optional<Path> pgRestore = tools.find("pg_restore");
    int entries = 0;
    if (pgRestore.isEmpty()) {
      problems.add("pg_restore is not installed, so the dump's table of contents cannot be read; install postgresql-client or set " + KEY + ".bin-dir");
    } else {
      ProcessResult r = runner.runAllowingFailure(PostgresCommands.list(pgRestore.get().toString(), dumpDir), l -> {});
      if (r.exitCode() != 0) {
        problems.add("pg_restore cannot read the dump's table of contents: " + lastLine(r.stderrTail()));
      } else {
        for (String line : r.stdout().lines().toList()) {
          Matcher m = TABLE_DATA.matcher(line);
          if (m.matches()) {
            entries++;
            String id = m.group(1);
            if (!Files.exists(dumpDir.resolve(id + ".dat.gz")) && !Files.exists(dumpDir.resolve(id + ".dat"))) {
              problems.add("the data file of dump entry " + id + " is missing from " + dumpDir);
            }
          }
        }
      }
    }
    if (problems.isEmpty()) {
      findings.ok(NAME, "dump readable by pg_restore (" + entries + " tables with data), checksums match");
    } else {
      problems.forEach(p -> findings.problem(NAME, p));
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  private Path requireDump(RestoreContext context) {
    Path dumpDir = context.databaseDir().resolve(DUMP_DIR);
    if (!Files.isRegularFile(dumpDir.resolve("toc.dat"))) {
      throw SnapstashException.precondition(
          "backup " + context.tag() + " holds no PostgreSQL dump (" + dumpDir.resolve("toc.dat") + " is missing); restore it with the database.type it was taken with");
    }
    return dumpDir;
  }

  /**
   * Whether the target database exists, after refusing (PRECONDITION) one that other clients use, whatever {@code
   * force} says (a live Bitbucket works in it: a restore there destroys production), and one that holds anything
   * unless forced; the refusal says what {@code --force} would destroy.
   */
  private boolean targetState(boolean force) {
    try (Connection c = connect(config.database())) {
      List<PostgresTarget.Session> sessions = PostgresTarget.otherSessions(c);
      if (!sessions.isEmpty()) {
        int n = sessions.stream().mapToInt(PostgresTarget.Session::count).sum();
        throw SnapstashException.precondition(
            "the target database " + target() + " is in use: " + n + (n == 1 ? " session" : " sessions")
                + " of other clients (" + String.join(", ", sessions.stream().map(Object::toString).toList())
                + "); a restore never writes into a database that a live instance uses, --force or not: stop"
                + " Bitbucket (or whatever holds those sessions), or restore into another database with --jdbc-url or "
                + KEY + ".database");
      }
      PostgresTarget.Contents contents = PostgresTarget.contents(c);
      if (contents.total() > 0 && !force) {
        throw SnapstashException.precondition(
            "the target database " + target() + " already holds " + contents.describe() + "; restore into an empty"
                + " database (--jdbc-url or " + KEY + ".database), or pass --force to drop all of them, and everything"
                + " else in its user schemas, before restoring");
      }
      return true;
    } catch (SQLException e) {
      if ("3D000".equals(e.getSQLState())) {
        return false;
      }
      throw describe(e, config.database());
    }
  }

  /** {@code database at host:port}, for messages. */
  private String target() {
    return config.database() + " at " + config.host() + ":" + config.port();
  }

  /**
   * Empties the target for a forced restore, all or nothing (see {@link PostgresTarget#empty}): {@code pg_restore
   * --clean} would drop only what the dump holds, leaving a later version's tables (after a failed upgrade).
   */
  private void emptyDatabase() {
    try (Connection c = connect(config.database())) {
      int dropped = PostgresTarget.empty(c);
      log.info("emptied {} before the forced restore ({} objects dropped, in one transaction)", config.database(), dropped);
    } catch (SQLException e) {
      SnapstashException why = describe(e, config.database());
      throw new SnapstashException(
          why.kind(),
          "could not empty the target database " + target() + " before the forced restore, so nothing was dropped"
              + " (the emptying runs in one transaction): " + why.getMessage(),
          e);
    }
  }

  private SnapstashException mayNotCreate() {
    return SnapstashException.precondition(
        "the target database " + config.database() + " does not exist at " + config.host() + ":" + config.port() + " and user "
            + config.username() + " may not create it; create it (owned by " + config.username() + ") or change " + KEY + ".database");
  }

  /** Refuses, before anything is written, a missing target database this user could not create. */
  private void requireCreatable() {
    SQLException last = null;
    for (String maintenance : List.of("postgres", "template1")) {
      try (Connection c = connect(maintenance);
          Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")) {
        if (!rs.next() || !rs.getBoolean(1)) {
          throw mayNotCreate();
        }
        return;
      } catch (SQLException e) {
        last = e;
      }
    }
    throw describe(last, config.database());
  }

  private void createDatabase() {
    SQLException last = null;
    for (String maintenance : List.of("postgres", "template1")) {
      try (Connection c = connect(maintenance);
          Statement st = c.createStatement()) {
        st.execute("CREATE DATABASE " + quoteIdent(config.database()) + " ENCODING 'UTF8' TEMPLATE template0");
        return;
      } catch (SQLException e) {
        if ("42501".equals(e.getSQLState())) {
          throw mayNotCreate();
        }
        if ("42P04".equals(e.getSQLState())) {
          return;
        }
        last = e;
      }
    }
    throw describe(last, config.database());
  }

  private Connection connect(String database) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", config.username());
    p.setProperty("password", config.password().reveal());
    p.setProperty("connectTimeout", "15");
    p.setProperty("loginTimeout", "15");
    p.setProperty("socketTimeout", "300");
    p.setProperty("ApplicationName", "snapstash");
    String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
    return DriverManager.getConnection(
        "jdbc:postgresql://" + host + ":" + config.port() + "/" + URLEncoder.encode(database, StandardCharsets.UTF_8), p);
  }

  /** Turns a connection failure into one sentence naming the key that fixes it. */
  SnapstashException describe(SQLException e, String database) {
    String where = config.host() + ":" + config.port();
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    if (state.equals("28P01") || state.equals("28000")) {
      return new SnapstashException(ErrorKind.AUTHENTICATION,
          "PostgreSQL at " + where + " refused user " + config.username() + " (" + firstLine(e.getMessage()) + "); check " + KEY + ".password and "
              + KEY + ".username", e);
    }
    if (state.equals("3D000")) {
      return new SnapstashException(ErrorKind.CONFIG,
          "database " + database + " does not exist at " + where + "; check " + KEY + ".database", e);
    }
    if (state.startsWith("08")) {
      return new SnapstashException(ErrorKind.UNREACHABLE,
          "cannot reach PostgreSQL at " + where + " (" + firstLine(e.getMessage()) + "); check " + KEY + ".host and " + KEY + ".port", e);
    }
    if (state.equals("42501")) {
      return new SnapstashException(ErrorKind.AUTHENTICATION,
          "user " + config.username() + " lacks a privilege on database " + database + " at " + where + " (" + firstLine(e.getMessage()) + "); check "
              + KEY + ".username", e);
    }
    return new SnapstashException(ErrorKind.EXTERNAL_COMMAND,
        "PostgreSQL at " + where + " failed: " + firstLine(e.getMessage()) + " (SQLSTATE " + state + ")", e);
  }

  private record ServerFacts(String version, int versionNum, long relations, long tables) {}

  private static ServerFacts facts(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int,"
                + " count(*) FILTER (WHERE c.relkind IN ('r','p','v','m','S','f')),"
                + " count(*) FILTER (WHERE c.relkind IN ('r','p'))"
                + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'")) {
      rs.next();
      return new ServerFacts(rs.getString(1), rs.getInt(2), rs.getLong(3), rs.getLong(4));
    }
  }

  private static void reportFiles(Progress progress, Path dumpDir, long tables) {
    if (!Files.isDirectory(dumpDir)) {
      return;
    }
    try (Stream<Path> s = Files.list(dumpDir)) {
      long n = s.filter(p -> p.getFileName().toString().contains(".dat")).count();
      progress.report("database", tables > 0 ? Math.min(0.99, (double) n / tables) : -1, n + " of " + tables + " tables dumped");
    } catch (IOException | RuntimeException e) {
      // Progress is best effort; the dump itself reports real failures.
    }
  }

  static String quoteIdent(String s) {
    return "\"" + s.replace("\"", "\"\"") + "\"";
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return (nl >= 0 ? s.substring(0, nl) : s).strip();
  }

  private static String lastLine(String s) {
    String t = s == null ? "" : s.strip();
    int nl = t.lastIndexOf('\n');
    return nl >= 0 ? t.substring(nl + 1) : t;
  }

}
