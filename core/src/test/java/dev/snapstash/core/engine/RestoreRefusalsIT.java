package dev.snapstash.core.engine;

import dev.snapstash.core.util.Json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.strategy.database.mysql.MysqlDumpStrategy;
import dev.snapstash.strategy.database.postgresql.PostgresDumpStrategy;
import dev.snapstash.strategy.disk.rsync.RsyncDiskStrategy;
import dev.snapstash.strategy.quiesce.command.CommandQuiescer;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import dev.snapstash.core.bitbucket.InstanceProbe;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every refusal of {@code restore}, with a real rsync home and a real PostgreSQL or MariaDB target, proves that
 * nothing was written: the target home is as it was (absent, or only its own files) and the target database holds
 * exactly the tables and rows it held before.
 */
class RestoreRefusalsIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();
  @RegisterExtension static final MariaDbFixture MARIADB = new MariaDbFixture();

  @TempDir Path tmp;
  final ProcessRunner runner = new ProcessRunner();

  /** A source home and database, backed up once; a fresh empty target database and an absent target home. */
  private final class Setup {
    final boolean postgres;
    final Path home = tmp.resolve("home");
    final Path root = tmp.resolve("backups");
    final Path target = tmp.resolve("restored");
    final TestDatabase targetDb;
    final Manifest manifest;

    Setup(String kind) throws Exception {
      postgres = kind.equals("postgresql");
      TestDatabase source = postgres ? PG.newDatabase() : MARIADB.newDatabase();
      targetDb = postgres ? PG.newDatabase() : MARIADB.newDatabase();
      Path repo = home.resolve("shared/data/repositories/7");
      Files.createDirectories(repo.resolve("objects"));
      Files.createDirectories(repo.resolve("refs/heads"));
      Files.writeString(repo.resolve("HEAD"), "ref: refs/heads/main\n");
      try (Connection c = source.connect(); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE repository (id BIGINT PRIMARY KEY, slug VARCHAR(64))");
        s.execute("INSERT INTO repository VALUES (7, 'seven')");
      }
      Quiescer q = new CommandQuiescer(List.of("true"), List.of("true"), Duration.ofSeconds(10), runner, System::nanoTime);
      manifest =
          new BackupEngine(
                  new BackupEngine.Settings("bb", home, new BackupStore(root), new Retention.Policy(0, 0, 0, 0), false, 0, "t"),
                  q, rsync(), database(source), List.of(), Clock.systemUTC(), System::nanoTime)
              .backup(Progress.NONE);
    }

    RsyncDiskStrategy rsync() {
      return new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, runner);
    }

    DatabaseStrategy database(TestDatabase db) {
      return postgres
          ? new PostgresDumpStrategy(new dev.snapstash.strategy.database.postgresql.PostgresSettings(db.host(), db.port(), db.database(), db.user(), db.secret(), 2, "", true), runner)
          : new MysqlDumpStrategy(new dev.snapstash.strategy.database.mysql.MysqlSettings(db.host(), db.port(), db.database(), db.user(), db.secret()), runner);
    }

    RestoreEngine engine(InstanceProbe running) {
      return new RestoreEngine(new BackupStore(root), rsync(), database(targetDb), running, Clock.systemUTC(), System::nanoTime);
    }

    /** Restores and expects a refusal of {@code kind} whose message contains {@code message}. */
    void refused(String tag, boolean force, InstanceProbe running, ErrorKind kind, String message) {
      assertThatThrownBy(() -> engine(running).restore(new RestoreEngine.Options(tag, target, force, false), Progress.NONE))
          .isInstanceOf(SnapstashException.class)
          .hasMessageContaining(message)
          .extracting(e -> ((SnapstashException) e).kind())
          .isEqualTo(kind);
    }

    /** Table names and row counts of the target database, to compare before and after. */
    List<String> targetTables() throws Exception {
      List<String> tables = new ArrayList<>();
      String sql =
          postgres
              ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
              : "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1";
      try (Connection c = targetDb.connect(); Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery(sql)) {
          while (rs.next()) {
            tables.add(rs.getString(1));
          }
        }
        List<String> withRows = new ArrayList<>();
        for (String t : tables) {
          try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + t)) {
            rs.next();
            withRows.add(t + ":" + rs.getLong(1));
          }
        }
        return withRows;
      }
    }

    List<String> targetFiles() throws Exception {
      if (!Files.exists(target)) {
        return List.of("<absent>");
      }
      try (Stream<Path> s = Files.walk(target)) {
        return s.map(p -> target.relativize(p).toString()).sorted().toList();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void everyRefusalWritesNothingToTheHomeOrTheDatabase(String kind) throws Exception {
    Setup s = new Setup(kind);
    String tag = s.manifest.tag();
    BackupStore store = new BackupStore(s.root);

    // An unknown tag.
    s.refused(tag + "x", false, InstanceProbe.none(), ErrorKind.PRECONDITION, "no backup tagged");
    assertNothingWritten(s, List.of("<absent>"), List.of());

    // A failed backup, without --allow-incomplete.
    store.write(s.manifest.withState(Manifest.State.FAILED, s.manifest.finishedAt(), "boom"));
    s.refused(tag, false, InstanceProbe.none(), ErrorKind.PRECONDITION, "not complete");
    assertNothingWritten(s, List.of("<absent>"), List.of());
    store.write(s.manifest);

    // The instance answers on its base URL.
    s.refused(tag, false, () -> java.util.Optional.of(new InstanceProbe.Answer("Bitbucket 8.19.1 answers at http://bb", true)), ErrorKind.PRECONDITION, "stop the instance before restoring");
    assertNothingWritten(s, List.of("<absent>"), List.of());

    // Too little free space (the backup claims an exabyte).
    Path manifestFile = store.dir(tag).resolve("manifest.json");
    String original = Files.readString(manifestFile);
    ObjectNode json = (ObjectNode) Json.MAPPER.readTree(original);
    ((ObjectNode) json.get("home")).put("bytes", 1L << 60);
    Json.MAPPER.writeValue(manifestFile.toFile(), json);
    s.refused(tag, false, InstanceProbe.none(), ErrorKind.STORAGE, "not enough space");
    assertNothingWritten(s, List.of("<absent>"), List.of());
    Files.writeString(manifestFile, original);

    // A flipped byte in the backup's home.
    Path head = store.dir(tag).resolve("home/shared/data/repositories/7/HEAD");
    String headContent = Files.readString(head);
    Files.writeString(head, headContent.replace("main", "mainx"));
    s.refused(tag, false, InstanceProbe.none(), ErrorKind.VERIFICATION, "is damaged");
    assertNothingWritten(s, List.of("<absent>"), List.of());
    Files.writeString(head, headContent);

    // A target home with Bitbucket's .lock (a running instance), even with --force.
    Files.createDirectories(s.target);
    Files.writeString(s.target.resolve(".lock"), "");
    s.refused(tag, true, InstanceProbe.none(), ErrorKind.PRECONDITION, ".lock file");
    assertNothingWritten(s, List.of("", ".lock"), List.of());
    Files.delete(s.target.resolve(".lock"));

    // A non-empty target home.
    Files.writeString(s.target.resolve("precious"), "data");
    s.refused(tag, false, InstanceProbe.none(), ErrorKind.PRECONDITION, "is not empty");
    assertNothingWritten(s, List.of("", "precious"), List.of());
    Files.delete(s.target.resolve("precious"));

    // A target database that already has a table, with an empty home.
    try (Connection c = s.targetDb.connect(); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE precious (id INT)");
      st.execute("INSERT INTO precious VALUES (1)");
    }
    s.refused(tag, false, InstanceProbe.none(), ErrorKind.PRECONDITION, "already holds 1 table;");
    assertNothingWritten(s, List.of(""), List.of("precious:1"));

    // And every refusal lifted, the same backup restores: the refusals above were the only obstacles.
    try (Connection c = s.targetDb.connect(); Statement st = c.createStatement()) {
      st.execute("DROP TABLE precious");
    }
    RestoreEngine.Report r = s.engine(InstanceProbe.none()).restore(new RestoreEngine.Options(tag, s.target, false, false), Progress.NONE);
    assertThat(s.targetTables()).contains("repository:1");
    assertThat(r.verification().checks()).extracting(VerifyEngine.Check::name).contains("home-checksums", "repositories-match");
    assertThat(r.verification().checks().stream().filter(c -> c.name().equals("repositories-match")).findFirst().orElseThrow().ok()).isTrue();
  }

  /**
   * A database another client works in (a live Bitbucket's pool) is never written, with --force or without, into a
   * new home or not: the refusal names the sessions, and the database's dump is the same before and after.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void aDatabaseInUseByAnotherClientIsRefusedEvenWhenForced(String kind) throws Exception {
    Setup s = new Setup(kind);
    try (Connection c = s.targetDb.connect(); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE live (id INT PRIMARY KEY)");
      st.execute("INSERT INTO live VALUES (1), (2)");
    }
    String before = dev.snapstash.testing.Dumps.of(s.targetDb);
    try (Connection live = s.targetDb.connect()) {
      for (boolean force : new boolean[] {false, true}) {
        s.refused(s.manifest.tag(), force, InstanceProbe.none(), ErrorKind.PRECONDITION, "is in use: 1 session of other clients (" + s.targetDb.user() + " from ");
        assertThatThrownBy(() -> s.engine(InstanceProbe.none()).restore(new RestoreEngine.Options(s.manifest.tag(), s.target, force, false), Progress.NONE))
            .hasMessageContaining("--force or not");
        assertNothingWritten(s, List.of("<absent>"), List.of("live:2"));
      }
      assertThat(live.isValid(2)).isTrue();
    }
    assertThat(dev.snapstash.testing.Dumps.of(s.targetDb)).isEqualTo(before);
  }

  /**
   * A target database that does not exist, on a server where the user may not create one: refused before the home
   * is written (it used to fail only once the home was copied, halfway through the restore).
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void aMissingDatabaseTheUserMayNotCreateIsRefusedBeforeAnythingIsWritten(String kind) throws Exception {
    Setup s = new Setup(kind);
    TestDatabase missing = new TestDatabase(s.targetDb.kind(), s.targetDb.host(), s.targetDb.port(), "never_created",
        s.targetDb.user(), s.targetDb.password(), s.targetDb.passwordFile(), s.targetDb.jdbcUrl());
    RestoreEngine engine = new RestoreEngine(new BackupStore(s.root), s.rsync(), s.database(missing), InstanceProbe.none(), Clock.systemUTC(), System::nanoTime);
    List<String> phases = new java.util.concurrent.CopyOnWriteArrayList<>();
    Progress progress = (phase, fraction, detail) -> phases.add(phase);
    assertThatThrownBy(() -> engine.restore(new RestoreEngine.Options(s.manifest.tag(), s.target, false, false), progress))
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining("the target database never_created does not exist")
        .hasMessageContaining("may not create it")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.PRECONDITION);
    assertThat(s.targetFiles()).isEqualTo(List.of("<absent>"));
    assertThat(phases).as("refused before the checksums, the home or the database were begun").doesNotContain("checksums", "home", "database");
  }

  /** The refusal that suggests --force says what --force would destroy. */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void theRefusalOfADatabaseWithContentSaysWhatForceWouldDestroy(String kind) throws Exception {
    Setup s = new Setup(kind);
    try (Connection c = s.targetDb.connect(); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE a (id INT PRIMARY KEY)");
      st.execute("CREATE TABLE b (id INT PRIMARY KEY)");
      st.execute("CREATE VIEW v AS SELECT id FROM a");
    }
    s.refused(s.manifest.tag(), false, InstanceProbe.none(), ErrorKind.PRECONDITION,
        "already holds 2 tables and 1 view; restore into an empty database (--jdbc-url or database."
            + (s.postgres ? "postgresql" : "mysql") + ".database), or pass --force to drop ");
  }

  private static void assertNothingWritten(Setup s, List<String> files, List<String> tables) throws Exception {
    assertThat(s.targetFiles()).as("the target home").isEqualTo(files);
    assertThat(s.targetTables()).as("the target database").isEqualTo(tables);
  }
}
