package dev.snapstash.strategy.database.mysql;

import dev.snapstash.strategy.database.mysql.MysqlSettings;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.CommandFailedException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Artifact;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.strategy.database.ClientTools;
import dev.snapstash.strategy.database.DumpFiles;
import dev.snapstash.core.util.PrivateFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backs up a MySQL or MariaDB database with {@code mariadb-dump} (or {@code mysqldump}) {@code
 * --single-transaction} (one consistent InnoDB snapshot, no table locks) into {@code database/dump.sql}, and
 * restores it by feeding that file to {@code mariadb} (or {@code mysql}).
 *
 * <p>The password reaches the tools in a 0600 {@code --defaults-file} (see {@link MysqlCommands}) in a private
 * temporary directory deleted afterwards; never through argv or {@code MYSQL_PWD}.
 */
public final class MysqlDumpStrategy implements DatabaseStrategy {
  private static final Logger log = LoggerFactory.getLogger(MysqlDumpStrategy.class);

  public static final String NAME = "mysql";
  static final String KEY = "database.mysql";
  public static final String DUMP_FILE = "dump.sql";

  private final MysqlSettings config;
  private final ProcessRunner runner;
  private final ClientTools tools;

  /** @throws SnapstashException (CONFIG) naming the first invalid key of the {@code database.mysql} section */
  public MysqlDumpStrategy(MysqlSettings config, ProcessRunner runner) {
    this.config = validate(config);
    this.runner = runner;
    this.tools = ClientTools.onPath(runner, Optional.empty(), "install mariadb-client or mysql-client");
  }

  public static MysqlSettings validate(MysqlSettings c) {
    if (c == null || c.password() == null) {
      throw SnapstashException.config(KEY + ".password is required when database.type is mysql");
    }
    if (c.host() == null || c.host().isBlank() || c.host().startsWith("-")) {
      throw SnapstashException.config(KEY + ".host must be a host name or address");
    }
    if (c.port() < 1 || c.port() > 65535) {
      throw SnapstashException.config(KEY + ".port must be between 1 and 65535, not " + c.port());
    }
    if (c.database() == null || c.database().isBlank() || c.database().startsWith("-") || c.database().contains("`")) {
      throw SnapstashException.config(KEY + ".database must be a database name");
    }
    if (c.username() == null || c.username().isBlank() || c.username().startsWith("-")) {
      throw SnapstashException.config(KEY + ".username must be a user name");
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
    for (String[] names : List.of(new String[] {"mariadb-dump", "mysqldump"}, new String[] {"mariadb", "mysql"})) {
      Optional<Path> p = tools.find(names);
      if (p.isEmpty()) {
        findings.problem(NAME, tools.notInstalled(names));
      } else {
        try {
          findings.ok(NAME, tools.ask(p.get()).version());
        } catch (SnapstashException e) {
          findings.problem(NAME, e);
        }
      }
    }
    String secretProblem = config.password().problem();
    if (secretProblem != null) {
      findings.problem(KEY + ".password", secretProblem, dev.snapstash.core.error.ErrorKind.CONFIG);
      return;
    }
    try (Connection c = connect(config.database())) {
      findings.ok(NAME, serverVersion(c) + " at " + config.host() + ":" + config.port() + ", database " + config.database() + " ("
          + tableCount(c) + " tables)");
    } catch (SQLException e) {
      findings.problem(NAME, describe(e));
    }
  }

  @Override
  public CopyResult backup(BackupContext context) {
    Progress progress = context.progress();
    Path databaseDir = context.databaseDir();
    Path dumpFile = databaseDir.resolve(DUMP_FILE);
    DumpFiles.createDirectories(context.modes(), databaseDir);
    progress.report("database", 0, "mariadb-dump of " + config.database() + " at " + config.host() + ":" + config.port());
    Path program = tools.require("mariadb-dump", "mysqldump");
    String version = tools.ask(program).version();
    String serverVersion;
    try (Connection c = connect(config.database())) {
      serverVersion = serverVersion(c);
    } catch (SQLException e) {
      throw describe(e);
    }
    String password = config.password().reveal();
    try (PrivateFiles secrets = PrivateFiles.create(context.backupRoot(), "snapstash-mysql")) {
      Path options = secrets.write("client.cnf", MysqlCommands.optionsFile(password));
      runner.run(MysqlCommands.dump(program.toString(), config, options, dumpFile).withSecret(password));
    }
    List<Artifact> artifacts = DumpFiles.artifacts(context.backupDir(), dumpFile, 1);
    DumpFiles.writeChecksums(context.modes(), context.backupDir(), databaseDir, artifacts);
    long bytes = DumpFiles.totalBytes(artifacts);
    progress.report("database", 1.0, "dump.sql, " + bytes + " bytes");
    Map<String, String> details = new LinkedHashMap<>();
    details.put("tool", version);
    details.put("format", "SQL (--single-transaction)");
    details.put("server-version", serverVersion);
    details.put("database", config.database());
    return new CopyResult(NAME, bytes, artifacts.size(), bytes, artifacts, details);
  }

  @Override
  public void cleanupIncomplete(BackupContext context) {
    DumpFiles.deleteRecursively(context.databaseDir());
  }

  @Override
  public void prepareRestore(RestoreContext context) {
    requireDump(context);
    targetExists(context.force());
  }

  @Override
  public void restore(RestoreContext context) {
    Path dumpFile = requireDump(context);
    boolean exists = targetExists(context.force());
    context.progress().report("database", 0, "restoring into " + config.database() + " at " + config.host() + ":" + config.port());
    if (!exists) {
      createDatabase();
    } else if (context.force()) {
      emptyDatabase();
    }
    Path client = tools.require("mariadb", "mysql");
    String password = config.password().reveal();
    try (PrivateFiles secrets = PrivateFiles.create(context.backupRoot(), "snapstash-mysql")) {
      Path options = secrets.write("client.cnf", MysqlCommands.optionsFile(password));
      runner.run(MysqlCommands.restore(client.toString(), config, options, dumpFile).withSecret(password));
    } catch (CommandFailedException e) {
      if (e.stderrTail().contains("ERROR 1227")) {
        // Triggers, routines and views keep their DEFINER; only that user (or one with SET USER) may recreate them.
        throw new SnapstashException(ErrorKind.AUTHENTICATION,
            "the dump's triggers, routines or views were defined by another user than " + config.username()
                + ", which lacks the SET USER privilege to recreate them; restore as that user (" + KEY + ".username) or grant " + config.username()
                + " SET USER", e);
      }
      throw e;
    }
    context.progress().report("database", 1.0, "restored " + config.database());
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

  /** A private MariaDB server's database. */
  @Override
  public Optional<dev.snapstash.core.spi.ScratchDatabase.Factory> scratch(Path workDir) {
    return Optional.of(home -> dev.snapstash.strategy.database.ScratchServers.start(
        workDir.resolve("mariadb"),
        () -> dev.snapstash.core.localdb.MariaDbServer.start(workDir.resolve("mariadb"), 0, runner, false),
        login -> new MysqlDumpStrategy(
            new MysqlSettings(login.host(), login.port(), login.database(), login.user(), login.password()), runner)));
  }

  @Override
  public void verify(RestoreContext context, Findings findings) {
    Path dumpFile = context.databaseDir().resolve(DUMP_FILE);
    if (!Files.isRegularFile(dumpFile)) {
      findings.problem(NAME, "backup " + context.tag() + " has no MySQL dump (" + dumpFile + " is missing)");
      return;
    }
    List<String> problems = new ArrayList<>(DumpFiles.verifyChecksums(context.databaseDir()));
    try {
      if (!hasHeader(dumpFile)) {
        problems.add(dumpFile + " does not start with a mariadb-dump/mysqldump header");
      }
      if (!lastLine(dumpFile).startsWith("-- Dump completed")) {
        problems.add(dumpFile + " does not end with '-- Dump completed': the dump is truncated");
      }
    } catch (IOException e) {
      problems.add("cannot read " + dumpFile + " (" + e.getMessage() + ")");
    }
    if (problems.isEmpty()) {
      findings.ok(NAME, "dump complete (header and trailer present), checksums match");
    } else {
      problems.forEach(p -> findings.problem(NAME, p));
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  private Path requireDump(RestoreContext context) {
    Path dumpFile = context.databaseDir().resolve(DUMP_FILE);
    if (!Files.isRegularFile(dumpFile)) {
      throw SnapstashException.precondition(
          "backup " + context.tag() + " holds no MySQL dump (" + dumpFile + " is missing); restore it with the database.type it was taken with");
    }
    return dumpFile;
  }

  /**
   * Whether the target database exists, after refusing (PRECONDITION) one that other clients use, whatever {@code
   * force} says (a live Bitbucket works in it: a restore there destroys production), one that holds anything unless
   * forced (the refusal says what {@code --force} would destroy), and, when forced, one this user could not replace
   * whole (so that the emptying cannot stop halfway for want of a privilege).
   */
  private boolean targetExists(boolean force) {
    try (Connection c = connect("")) {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM information_schema.schemata WHERE schema_name = ?")) {
        ps.setString(1, config.database());
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            if (MysqlTarget.missingPrivileges(c, config.database(), "CREATE").isPresent()) {
              throw mayNotCreate();
            }
            return false;
          }
        }
      }
      List<MysqlTarget.Session> sessions = MysqlTarget.otherSessions(c, config.database());
      if (!sessions.isEmpty()) {
        int n = sessions.stream().mapToInt(MysqlTarget.Session::count).sum();
        throw SnapstashException.precondition(
            "the target database " + target() + " is in use: " + n + (n == 1 ? " session" : " sessions")
                + " of other clients (" + String.join(", ", sessions.stream().map(Object::toString).toList())
                + "); a restore never writes into a database that a live instance uses, --force or not: stop"
                + " Bitbucket (or whatever holds those sessions), or restore into another database with --jdbc-url or "
                + KEY + ".database");
      }
      if (!MysqlTarget.seesAllSessions(c)) {
        log.info("user {} lacks the PROCESS privilege, so only its own account's sessions on {} could be checked", config.username(), target());
      }
      MysqlTarget.Contents contents = MysqlTarget.contents(c, config.database());
      if (contents.total() > 0 && !force) {
        throw SnapstashException.precondition(
            "the target database " + target() + " already holds " + contents.describe() + "; restore into an empty"
                + " database (--jdbc-url or " + KEY + ".database), or pass --force to drop the database with all of"
                + " them and create it again before restoring");
      }
      if (contents.total() > 0) {
        Optional<String> missing = MysqlTarget.missingPrivileges(c, config.database(), "DROP", "CREATE");
        if (missing.isPresent()) {
          throw new SnapstashException(ErrorKind.AUTHENTICATION,
              "user " + config.username() + " lacks the " + missing.get() + " privilege on " + target() + ", which a forced"
                  + " restore needs to replace the database whole; grant it (GRANT ALL ON `" + config.database() + "`.* TO the"
                  + " user), or empty the database yourself; nothing was dropped");
        }
      }
      return true;
    } catch (SQLException e) {
      throw describe(e);
    }
  }

  /** {@code database at host:port}, for messages. */
  private String target() {
    return config.database() + " at " + config.host() + ":" + config.port();
  }

  /**
   * A forced restore replaces the database: the dump's {@code DROP TABLE IF EXISTS} covers only its own tables, so
   * the database is dropped and created again (see {@link MysqlTarget#empty}), with its character set, collation
   * and grants.
   */
  private void emptyDatabase() {
    try (Connection c = connect("")) {
      long dropped = MysqlTarget.empty(c, config.database());
      log.info("emptied {} before the forced restore ({} objects dropped with the database, which was created again)", config.database(), dropped);
    } catch (SQLException e) {
      SnapstashException why = describe(e);
      throw new SnapstashException(
          why.kind(),
          "could not empty the target database " + target() + " before the forced restore (MySQL's DDL is not"
              + " transactional, so it may be partly emptied; a restore with --force again finishes it): " + why.getMessage(),
          e);
    }
  }

  private SnapstashException mayNotCreate() {
    return SnapstashException.precondition(
        "the target database " + config.database() + " does not exist at " + config.host() + ":" + config.port() + " and user "
            + config.username() + " may not create it; create it (CHARACTER SET utf8mb4 COLLATE utf8mb4_bin) or change " + KEY + ".database");
  }

  private void createDatabase() {
    try (Connection c = connect("");
        Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE IF NOT EXISTS " + MysqlTarget.ident(config.database()) + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    } catch (SQLException e) {
      if (e.getErrorCode() == 1044 || e.getErrorCode() == 1227) {
        throw mayNotCreate();
      }
      throw describe(e);
    }
  }

  private long tableCount(Connection c) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?")) {
      ps.setString(1, config.database());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static String serverVersion(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT VERSION()")) {
      rs.next();
      String v = rs.getString(1);
      return (v.toLowerCase().contains("mariadb") ? "" : "MySQL ") + v;
    }
  }

  private Connection connect(String database) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", config.username());
    p.setProperty("password", config.password().reveal());
    p.setProperty("connectTimeout", "15000");
    p.setProperty("socketTimeout", "300000");
    String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
    return DriverManager.getConnection("jdbc:mariadb://" + host + ":" + config.port() + "/" + database, p);
  }

  /** Turns a connection failure into one sentence naming the key that fixes it. */
  SnapstashException describe(SQLException e) {
    String where = config.host() + ":" + config.port();
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    int code = e.getErrorCode();
    if (code == 1045 || state.equals("28000")) {
      return new SnapstashException(ErrorKind.AUTHENTICATION,
          "MySQL at " + where + " refused user " + config.username() + " (access denied); check " + KEY + ".password and " + KEY + ".username", e);
    }
    if (code == 1044) {
      return new SnapstashException(ErrorKind.AUTHENTICATION,
          "user " + config.username() + " may not use database " + config.database() + " at " + where + "; grant it access or check " + KEY
              + ".username", e);
    }
    if (code == 1049) {
      return new SnapstashException(ErrorKind.CONFIG, "database " + config.database() + " does not exist at " + where + "; check " + KEY + ".database", e);
    }
    if (state.startsWith("08")) {
      return new SnapstashException(ErrorKind.UNREACHABLE,
          "cannot reach MySQL at " + where + " (" + firstLine(e.getMessage()) + "); check " + KEY + ".host and " + KEY + ".port", e);
    }
    return new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "MySQL at " + where + " failed: " + firstLine(e.getMessage()), e);
  }

  private static boolean hasHeader(Path dumpFile) throws IOException {
    try (BufferedReader r = Files.newBufferedReader(dumpFile, StandardCharsets.UTF_8)) {
      for (int i = 0; i < 5; i++) {
        String line = r.readLine();
        if (line == null) {
          return false;
        }
        if (line.startsWith("-- MariaDB dump") || line.startsWith("-- MySQL dump")) {
          return true;
        }
      }
    }
    return false;
  }

  /** The last non-blank line, read from the file's end. */
  private static String lastLine(Path file) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long len = f.length();
      int n = (int) Math.min(len, 4096);
      byte[] buf = new byte[n];
      f.seek(len - n);
      f.readFully(buf);
      String tail = new String(buf, StandardCharsets.UTF_8).strip();
      int nl = tail.lastIndexOf('\n');
      return nl >= 0 ? tail.substring(nl + 1).strip() : tail;
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return (nl >= 0 ? s.substring(0, nl) : s).strip();
  }
}
