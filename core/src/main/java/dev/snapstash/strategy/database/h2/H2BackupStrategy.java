package dev.snapstash.strategy.database.h2;

import dev.snapstash.strategy.database.h2.H2Settings;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Artifact;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.strategy.database.DumpFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

/**
 * Backs up Bitbucket's embedded H2 database online with {@code BACKUP TO 'database/h2-backup.zip'} over JDBC
 * (with {@code AUTO_SERVER=TRUE} this goes through the running Bitbucket's own H2 server, which writes a
 * consistent copy), and restores by unzipping into the directory of the URL's database file.
 *
 * <p>When that file lies inside the configured instance home, a restore re-bases it onto the restore's home
 * target, so a restore into a new home gets its own database rather than overwriting the live one.
 */
public final class H2BackupStrategy implements DatabaseStrategy {
  public static final String NAME = "h2";
  static final String KEY = "database.h2";
  public static final String BACKUP_FILE = "h2-backup.zip";
  private static final int WRONG_USER_OR_PASSWORD = 28000;
  private static final int DATABASE_NOT_FOUND_WITH_IF_EXISTS = 90146;
  private static final int DATABASE_ALREADY_OPEN = 90020;
  private static final List<String> SUFFIXES = List.of(".mv.db", ".h2.db", ".trace.db", ".lock.db");

  private final H2Settings config;
  private final Path instanceHome;
  private final Path databasePath;

  /**
   * @param instanceHome the configured {@code instance.home}, to re-base a database inside it on restore
   * @throws SnapstashException (CONFIG) naming the first invalid key of the {@code database.h2} section
   */
  public H2BackupStrategy(H2Settings config, Path instanceHome) {
    this.config = validate(config);
    this.instanceHome = instanceHome == null ? null : instanceHome.toAbsolutePath().normalize();
    this.databasePath = databasePath(config.url());
  }

  public static H2Settings validate(H2Settings c) {
    if (c == null || c.url() == null || c.url().isBlank()) {
      throw SnapstashException.config(KEY + ".url is required when database.type is h2");
    }
    databasePath(c.url());
    if (c.username() == null || c.username().isBlank()) {
      throw SnapstashException.config(KEY + ".username must not be empty");
    }
    return c;
  }

  /**
   * The database file's path without its extension ({@code /home/shared/data/db} for {@code
   * jdbc:h2:file:/home/shared/data/db;AUTO_SERVER=TRUE}).
   *
   * @throws SnapstashException (CONFIG) for a URL that is not a file database
   */
  public static Path databasePath(String url) {
    String u = url.strip();
    if (!u.regionMatches(true, 0, "jdbc:h2:", 0, 8)) {
      throw SnapstashException.config(KEY + ".url must be an H2 JDBC URL like jdbc:h2:file:/path/to/db, not " + u);
    }
    String rest = u.substring(8);
    int semi = rest.indexOf(';');
    if (semi >= 0) {
      rest = rest.substring(0, semi);
    }
    if (rest.regionMatches(true, 0, "file:", 0, 5)) {
      rest = rest.substring(5);
    } else if (rest.matches("(?i)^(mem|tcp|ssl|zip|nio\\w*|split|async|memFS|memLZF|retry)?:.*")) {
      throw SnapstashException.config(KEY + ".url must point at a local file database (jdbc:h2:file:/path/to/db), not " + u);
    }
    if (rest.isBlank()) {
      throw SnapstashException.config(KEY + ".url names no database file: " + u);
    }
    if (rest.startsWith("~")) {
      rest = System.getProperty("user.home") + rest.substring(1);
    }
    return Path.of(rest).toAbsolutePath().normalize();
  }

  /**
   * Where a restore puts the database: {@code databasePath} re-based from {@code configuredHome} onto {@code
   * homeTarget} when it lies inside the configured home, else unchanged.
   */
  public static Path restorePath(Path databasePath, Path configuredHome, Path homeTarget) {
    if (configuredHome != null && homeTarget != null && databasePath.startsWith(configuredHome)) {
      return homeTarget.toAbsolutePath().normalize().resolve(configuredHome.relativize(databasePath));
    }
    return databasePath;
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

  @Override
  public void check(Findings findings) {
    if (config.password() != null && config.password().problem() != null) {
      findings.problem(KEY + ".password", config.password().problem(), dev.snapstash.core.error.ErrorKind.CONFIG);
      return;
    }
    Path file = dataFile(databasePath);
    if (!Files.exists(file)) {
      findings.problem(KEY + ".url", "there is no H2 database at " + file + "; check " + KEY + ".url");
      return;
    }
    try (Connection c = connect()) {
      findings.ok(NAME, "H2 " + c.getMetaData().getDatabaseProductVersion() + " database " + file
          + (instanceHome != null && databasePath.startsWith(instanceHome) ? " (inside the home: restored with it)" : ""));
    } catch (SQLException e) {
      findings.problem(NAME, describe(e));
    }
  }

  @Override
  public CopyResult backup(BackupContext context) {
    Path databaseDir = context.databaseDir();
    Path zip = databaseDir.resolve(BACKUP_FILE);
    DumpFiles.createDirectories(context.modes(), databaseDir);
    DumpFiles.deleteRecursively(zip);
    context.progress().report("database", 0, "H2 BACKUP of " + databasePath);
    AtomicReference<Statement> running = new AtomicReference<>();
    ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "h2 backup");
      t.setDaemon(true);
      return t;
    });
    String version;
    try {
      Future<String> f = worker.submit(() -> {
        try (Connection c = connect();
            Statement st = c.createStatement()) {
          running.set(st);
          st.execute("BACKUP TO '" + zip.toString().replace("'", "''") + "'");
          return c.getMetaData().getDatabaseProductVersion();
        }
      });
      try {
        version = f.get();
      } catch (InterruptedException e) {
        // BACKUP runs inside H2 (perhaps in Bitbucket's JVM): cancel the statement there rather than interrupting
        // the worker, whose file I/O H2 would see closed under it. Then wait for it, so the partial zip is gone.
        cancel(running.get());
        try {
          f.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException | CancellationException ignored) {
          // Cancelled as asked, or still going (and a second interrupt came): either way we stop here.
        }
        DumpFiles.deleteRecursively(zip);
        Thread.currentThread().interrupt();
        throw new SnapstashException(ErrorKind.INTERRUPTED, "the H2 backup was interrupted", e);
      } catch (ExecutionException | CancellationException e) {
        DumpFiles.deleteRecursively(zip);
        Throwable c = e.getCause();
        if (c instanceof SQLException sql) {
          throw describe(sql);
        }
        throw SnapstashException.internal("the H2 backup failed: " + c, c);
      }
    } finally {
      worker.shutdownNow();
    }
    List<Artifact> artifacts = DumpFiles.artifacts(context.backupDir(), zip, 1);
    DumpFiles.writeChecksums(context.modes(), context.backupDir(), databaseDir, artifacts);
    long bytes = DumpFiles.totalBytes(artifacts);
    context.progress().report("database", 1.0, BACKUP_FILE + ", " + bytes + " bytes");
    Map<String, String> details = new LinkedHashMap<>();
    details.put("tool", "H2 " + version);
    details.put("format", "H2 BACKUP (zip)");
    details.put("database-file", databasePath.toString());
    return new CopyResult(NAME, bytes, artifacts.size(), bytes, artifacts, details);
  }

  @Override
  public void cleanupIncomplete(BackupContext context) {
    DumpFiles.deleteRecursively(context.databaseDir());
  }

  @Override
  public void prepareRestore(RestoreContext context) {
    requireBackup(context);
    Path target = restorePath(databasePath, instanceHome, context.homeTarget());
    Path file = dataFile(target);
    if (Files.exists(file)) {
      if (!context.force()) {
        throw SnapstashException.precondition(
            "the H2 database " + file + " already exists; restore into a new home or pass --force to overwrite it");
      }
      if (inUse(file)) {
        throw SnapstashException.precondition("the H2 database " + file + " is in use (is Bitbucket running?); stop it before restoring");
      }
    }
  }

  /** The database's files (every suffix H2 uses) below the restored home, which restore replaces or removes. */
  @Override
  public List<String> homeFilesRestored(RestoreContext context) {
    Path home = context.homeTarget().toAbsolutePath().normalize();
    Path target = restorePath(databasePath, instanceHome, context.homeTarget()).toAbsolutePath().normalize();
    if (!target.startsWith(home)) {
      return List.of();
    }
    String stem = home.relativize(target).toString().replace('\\', '/');
    return SUFFIXES.stream().map(suffix -> stem + suffix).toList();
  }

  @Override
  public void restore(RestoreContext context) {
    prepareRestore(context);
    Path zip = requireBackup(context);
    Path target = restorePath(databasePath, instanceHome, context.homeTarget());
    Path dir = target.getParent();
    context.progress().report("database", 0, "restoring H2 database " + target);
    DumpFiles.createDirectories(dir);
    for (String suffix : SUFFIXES) {
      DumpFiles.deleteRecursively(dir.resolve(target.getFileName() + suffix));
    }
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      ZipEntry e;
      while ((e = in.getNextEntry()) != null) {
        Path out = dir.resolve(e.getName()).normalize();
        if (!out.startsWith(dir) || out.equals(dir)) {
          throw new SnapstashException(ErrorKind.VERIFICATION, zip + " holds an entry outside its directory: " + e.getName());
        }
        if (e.isDirectory()) {
          DumpFiles.createDirectories(out);
          continue;
        }
        DumpFiles.createDirectories(out.getParent());
        Path part = out.resolveSibling(out.getFileName() + ".part");
        try (OutputStream o = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING)) {
          in.transferTo(o);
        }
        Files.move(part, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException ex) {
      throw SnapstashException.storage("cannot restore " + zip + " into " + dir + ": " + ex.getMessage(), ex);
    }
    context.progress().report("database", 1.0, "restored " + dataFile(target));
  }

  /** The restored file, opened only if it exists (IFEXISTS) so a wrong path cannot create an empty database. */
  @Override
  public java.util.Optional<Connection> connectRestored(RestoreContext context) throws SQLException {
    Path target = restorePath(databasePath, instanceHome, context.homeTarget());
    Properties p = new Properties();
    p.setProperty("user", config.username());
    p.setProperty("password", config.password() == null ? "" : config.password().reveal());
    return java.util.Optional.of(DriverManager.getConnection("jdbc:h2:file:" + target + ";IFEXISTS=TRUE", p));
  }

  /** A copy of the H2 files under the scratch home, opened where they land. */
  @Override
  public java.util.Optional<dev.snapstash.core.spi.ScratchDatabase.Factory> scratch(Path workDir) {
    return java.util.Optional.of(scratchHome -> {
      Path restored = restorePath(databasePath, instanceHome, scratchHome);
      H2BackupStrategy strategy = this;
      return new dev.snapstash.core.spi.ScratchDatabase() {
        @Override
        public dev.snapstash.core.spi.DatabaseStrategy strategy() {
          return strategy;
        }

        @Override
        public java.sql.Connection connect() throws java.sql.SQLException {
          return java.sql.DriverManager.getConnection(
              "jdbc:h2:file:" + restored + ";IFEXISTS=TRUE", config.username(), config.password() == null ? "" : config.password().reveal());
        }

        @Override
        public Access access() {
          Path pw = scratchHome.resolveSibling("h2-password");
          try {
            Files.writeString(pw, config.password() == null ? "" : config.password().reveal());
            Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
          } catch (java.io.IOException e) {
            throw SnapstashException.storage("cannot write " + pw + ": " + e.getMessage(), e);
          }
          return new Access("jdbc:h2:file:" + restored + ";AUTO_SERVER=TRUE", config.username(), pw);
        }

        @Override
        public void close() {}
      };
    });
  }

  @Override
  public void verify(RestoreContext context, Findings findings) {
    Path zip = context.databaseDir().resolve(BACKUP_FILE);
    if (!Files.isRegularFile(zip)) {
      findings.problem(NAME, "backup " + context.tag() + " has no H2 backup (" + zip + " is missing)");
      return;
    }
    List<String> problems = new java.util.ArrayList<>(DumpFiles.verifyChecksums(context.databaseDir()));
    int entries = 0;
    boolean hasDatabase = false;
    try (ZipFile structure = new ZipFile(zip.toFile());
        ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      entries = structure.size();
      ZipEntry e;
      while ((e = in.getNextEntry()) != null) {
        hasDatabase |= e.getName().endsWith(".mv.db") || e.getName().endsWith(".h2.db");
        in.transferTo(OutputStream.nullOutputStream()); // checks each entry's CRC
      }
      if (!hasDatabase) {
        problems.add(zip + " holds no H2 database file");
      }
    } catch (IOException ex) {
      problems.add(zip + " is not a readable zip (" + ex.getMessage() + "): damaged or truncated");
    }
    if (problems.isEmpty()) {
      findings.ok(NAME, "H2 backup readable (" + entries + " entries, CRCs match), checksums match");
    } else {
      problems.forEach(p -> findings.problem(NAME, p));
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  private Path requireBackup(RestoreContext context) {
    Path zip = context.databaseDir().resolve(BACKUP_FILE);
    if (!Files.isRegularFile(zip)) {
      throw SnapstashException.precondition(
          "backup " + context.tag() + " holds no H2 backup (" + zip + " is missing); restore it with the database.type it was taken with");
    }
    return zip;
  }

  private Connection connect() throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", config.username());
    p.setProperty("password", config.password() == null ? "" : config.password().reveal());
    String url = config.url().strip();
    // Never let a mistyped path create a new, empty database.
    if (!url.toUpperCase().contains(";IFEXISTS=")) {
      url = url + ";IFEXISTS=TRUE";
    }
    return DriverManager.getConnection(url, p);
  }

  SnapstashException describe(SQLException e) {
    return switch (e.getErrorCode()) {
      case WRONG_USER_OR_PASSWORD -> new SnapstashException(ErrorKind.AUTHENTICATION,
          "H2 refused user " + config.username() + " for " + databasePath + "; check " + KEY + ".password and " + KEY + ".username", e);
      case DATABASE_NOT_FOUND_WITH_IF_EXISTS -> new SnapstashException(ErrorKind.CONFIG,
          "there is no H2 database at " + dataFile(databasePath) + "; check " + KEY + ".url", e);
      case DATABASE_ALREADY_OPEN -> new SnapstashException(ErrorKind.PRECONDITION,
          "the H2 database " + databasePath + " is open in another process without AUTO_SERVER=TRUE; add ;AUTO_SERVER=TRUE to " + KEY
              + ".url (and to Bitbucket's jdbc.url) so it can be read while Bitbucket runs", e);
      default -> new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "H2 " + databasePath + " failed: " + firstLine(e.getMessage()), e);
    };
  }

  private static Path dataFile(Path databasePath) {
    Path legacy = databasePath.resolveSibling(databasePath.getFileName() + ".h2.db");
    Path mv = databasePath.resolveSibling(databasePath.getFileName() + ".mv.db");
    return Files.exists(legacy) && !Files.exists(mv) ? legacy : mv;
  }

  /** Whether another process (or this JVM) holds H2's file lock on the database file. */
  private static boolean inUse(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileLock lock = ch.tryLock();
      if (lock == null) {
        return true;
      }
      lock.release();
      return false;
    } catch (OverlappingFileLockException e) {
      return true;
    } catch (IOException e) {
      throw SnapstashException.storage("cannot open " + file + " to see whether it is in use: " + e.getMessage(), e);
    }
  }

  private static void cancel(Statement st) {
    if (st != null) {
      try {
        st.cancel();
      } catch (SQLException ignored) {
        // Already finished or closed.
      }
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
