package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** restore --jdbc-url into another database of the same server, and the checks of the restored result. */
class RestoreIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();
  @RegisterExtension static final MariaDbFixture MARIADB = new MariaDbFixture();

  @TempDir Path tmp;

  private static TestDatabase database(DbKind kind) {
    return kind == DbKind.POSTGRESQL ? PG.newDatabase() : MARIADB.newDatabase();
  }

  private static String url(DbKind kind, TestDatabase db) {
    return (kind == DbKind.POSTGRESQL ? "jdbc:postgresql://" : "jdbc:mariadb://") + db.host() + ":" + db.port() + "/" + db.database();
  }

  private static long tables(TestDatabase db) throws Exception {
    try (Connection c = db.connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                    + (db.kind().contains("postgres") ? "'public'" : "DATABASE()"))) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * Waits until no session but the asker's own is left on the database: a stopped instance's connections end
   * a moment after its process does (the server's backends exit on their own time), and the restore rightly
   * refuses a database that still has them.
   */
  private static void awaitNoOtherSessions(TestDatabase db) throws Exception {
    String sql = db.kind().contains("postgres")
        ? "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        : "SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()";
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
        rs.next();
        if (rs.getLong(1) == 0) {
          return;
        }
      }
      assertThat(System.nanoTime()).as("sessions of the stopped instance still open after 30 s").isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  /**
   * The configuration keeps pointing at the source database; --jdbc-url sends the restore to another database of
   * the same server, keeping the configured password. Each fixture database has its own user, so the URL names the
   * target's user and the configuration carries that user's password.
   */
  @ParameterizedTest
  @EnumSource(value = DbKind.class, names = {"POSTGRESQL", "MARIADB"})
  void restoresIntoTheDatabaseNamedOnTheCommandLineAndRefusesItOnceItHasTables(DbKind kind) throws Exception {
    TestDatabase source = database(kind);
    try (Scenario s = Scenario.start(tmp.resolve("sb"), kind, source)) {
      assertThat(s.push(3)).isEqualTo(3);
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
      TestDatabase target = database(kind);
      // Same server, other database and user: the configuration's password is the target user's, the URL names
      // host, port, database and user. The source database stays configured and must not be touched.
      Path config = s.configWithDatabase(BackupUnderLoadIT.section(kind, new TestDatabase(
          source.kind(), source.host(), source.port(), source.database(), source.user(), target.password(),
          target.passwordFile(), source.jdbcUrl())));
      String jdbcUrl = url(kind, target) + "?user=" + target.user();
      long sourceTables = tables(source);

      Path home = tmp.resolve("restored/home");
      Scenario.Run r = snapstash("-c", config.toString(), "restore", "latest", "--home-target", home.toString(), "--jdbc-url", jdbcUrl);
      assertThat(r.exit()).as(r.out() + r.err()).isZero();
      assertThat(r.out())
          .contains("into " + target.database() + " at " + target.host() + ":" + target.port())
          .contains("pass  home-checksums")
          .contains("pass  repositories-match  3 repositories in the database, each with its directory\n")
          // Bitbucket's own push tables: each repository's generated content as its first push, then the load client's
          .contains("pass  latest-pushes-present  newest recorded push of 3 repositories: ")
          // The sandbox's own ledger: the three pushes of the load client.
          .contains("pass  pushes-present      3 pushes in the sandbox's push_ledger, each with its commit\n")
          .contains("pass  git-fsck")
          .contains("the restored copy passed every check");
      assertThat(r.out() + r.err()).doesNotContain(target.password());
      assertThat(tables(target)).isPositive();
      assertThat(tables(source)).isEqualTo(sourceTables);
      try (Stream<Path> logs = Files.list(home.resolve("log"))) {
        Path report = logs.filter(p -> p.getFileName().toString().startsWith("snapstash-restore-")).findFirst().orElseThrow();
        assertThat(Files.readString(report)).contains("\"verification\"").doesNotContain(target.password());
      }
      // The restored home names the database the restore wrote, not the source: a Bitbucket started on the copy
      // must never connect to production. Said on stdout, the password never.
      java.util.Properties props = properties(home);
      assertThat(dev.snapstash.core.spi.DatabaseAddress.parse(props.getProperty("jdbc.url")))
          .contains(new dev.snapstash.core.spi.DatabaseAddress(kind == DbKind.POSTGRESQL ? "postgresql" : "mariadb",
              target.host(), target.port(), target.database()));
      assertThat(props.getProperty("jdbc.user")).isEqualTo(target.user());
      assertThat(props.getProperty("jdbc.password")).isEqualTo(target.password());
      assertThat(r.out()).contains("bitbucket.properties repointed at the restored database")
          .contains("jdbc.url").contains(source.database()).contains(target.database());
      // An instance started on the restored home, as Bitbucket starts, from that file: it serves the copy from
      // the target database, and the source database is not among its connections.
      try (var copy = dev.snapstash.sandbox.RunningSandbox.start(
          dev.snapstash.sandbox.SandboxOptions.defaults(home.getParent()).withPort(0), new dev.snapstash.core.process.ProcessRunner())) {
        assertThat(dev.snapstash.core.spi.DatabaseAddress.parse(copy.state().jdbcUrl()).orElseThrow().database()).isEqualTo(target.database());
        assertThat(copy.database().allRepositories()).isNotEmpty();
      }
      awaitNoOtherSessions(target);

      // Again into the same database, now holding tables, and a fresh home: refused, nothing written to either.
      Path second = tmp.resolve("second/home");
      long before = tables(target);
      Scenario.Run again = snapstash("-c", config.toString(), "restore", "latest", "--home-target", second.toString(), "--jdbc-url", jdbcUrl);
      assertThat(again.exit()).isEqualTo(7);
      assertThat(again.err()).contains("already holds").contains("--force");
      assertThat(second).doesNotExist();
      assertThat(tables(target)).isEqualTo(before);
    }
  }

  private static java.util.Properties properties(Path home) throws Exception {
    java.util.Properties p = new java.util.Properties();
    try (var r = Files.newBufferedReader(home.resolve("shared/bitbucket.properties"))) {
      p.load(r);
    }
    return p;
  }

  /**
   * The administrator's data-loss report: the sandbox still running on its database, a forced restore into a new
   * home wrote into that live database. Refused now, --force or not, naming what answered; the live database's
   * dump is the same before and after, and the instance keeps serving.
   */
  @ParameterizedTest
  @EnumSource(value = DbKind.class, names = {"POSTGRESQL", "MARIADB"})
  void aForcedRestoreIntoANewHomeNeverWritesTheLiveDatabase(DbKind kind) throws Exception {
    TestDatabase live = database(kind);
    try (Scenario s = Scenario.start(tmp.resolve("sb"), kind, live)) {
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
      String before = dev.snapstash.testing.Dumps.of(live);

      Path home = tmp.resolve("new/home");
      for (String[] extra : new String[][] {{}, {"--force", "--yes"}}) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(
            "-c", s.config().toString(), "restore", "latest", "--home-target", home.toString()));
        args.addAll(java.util.List.of(extra));
        Scenario.Run r = snapstash(args.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isEqualTo(7);
        assertThat(r.err()).contains("answers at " + s.sandbox.baseUrl()).contains("would write into its database " + live.database())
            .contains("stop the instance before restoring").doesNotContain("--force overrules");
        assertThat(home).doesNotExist();
      }

      assertThat(dev.snapstash.testing.Dumps.of(live)).isEqualTo(before);
      var http = java.net.http.HttpClient.newHttpClient();
      var projects = http.send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(s.sandbox.baseUrl() + "/rest/api/1.0/projects"))
              .header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(("admin:" + s.sandbox.adminPassword()).getBytes()))
              .build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(projects.statusCode()).as(projects.body()).isEqualTo(200);
    }
  }

  /** --keep-properties leaves the backed-up JDBC settings, and says loudly where a start on the copy connects. */
  @Test
  void keepPropertiesLeavesTheSourceDatabaseNamedAndWarns() throws Exception {
    TestDatabase source = database(DbKind.POSTGRESQL);
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.POSTGRESQL, source)) {
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
      TestDatabase target = database(DbKind.POSTGRESQL);
      Path config = s.configWithDatabase(BackupUnderLoadIT.section(DbKind.POSTGRESQL, new TestDatabase(
          source.kind(), source.host(), source.port(), source.database(), source.user(), target.password(),
          target.passwordFile(), source.jdbcUrl())));
      Path home = tmp.resolve("kept/home");

      Scenario.Run r = snapstash("-c", config.toString(), "restore", "latest", "--home-target", home.toString(),
          "--jdbc-url", url(DbKind.POSTGRESQL, target) + "?user=" + target.user(), "--keep-properties");

      assertThat(r.exit()).as(r.err()).isZero();
      assertThat(properties(home).getProperty("jdbc.url")).contains("/" + source.database());
      assertThat(r.out()).contains("WARNING").contains("still names " + source.database()).contains("--keep-properties");
    }
  }

  @Test
  void aPasswordInTheUrlIsRefusedAndNotRepeated() throws Exception {
    TestDatabase db = PG.newDatabase();
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.POSTGRESQL, db)) {
      Path home = tmp.resolve("restored/home");
      Scenario.Run r =
          snapstash("-c", s.config().toString(), "restore", "latest", "--home-target", home.toString(),
              "--jdbc-url", url(DbKind.POSTGRESQL, db) + "?password=hunter2");
      assertThat(r.exit()).isEqualTo(2);
      assertThat(r.err()).contains("--jdbc-url must not carry a password").doesNotContain("hunter2");
      assertThat(home).doesNotExist();
    }
  }

  /**
   * A backup taken from an instance whose database lists a repository that has no directory (a broken source):
   * its checksums are right, so the restore proceeds, and the checks of the restored result catch it: exit 11,
   * the restored copy left in place. (verify would catch it too; restore must not rely on verify having run.)
   */
  @Test
  void aRestoredCopyThatFailsItsChecksExitsElevenAndStaysInPlace() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      Path repos = s.dir.resolve("home/shared/data/repositories");
      Path victim;
      try (Stream<Path> dirs = Files.list(repos)) {
        victim = dirs.sorted().findFirst().orElseThrow();
      }
      dev.snapstash.core.util.Trees.deleteRecursively(victim);
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();

      Path home = tmp.resolve("restored/home");
      Scenario.Run r = snapstash("-c", s.config().toString(), "restore", "latest", "--home-target", home.toString());
      assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(11);
      assertThat(r.out()).contains("FAIL  repositories-match").contains("rows without a directory: [" + victim.getFileName() + "]");
      assertThat(r.err()).contains("failed verification").contains("left in place");
      assertThat(home.resolve("shared/data/repositories")).isDirectory();
      JsonNode report;
      try (Stream<Path> logs = Files.list(home.resolve("log"))) {
        Path p = logs.filter(f -> f.getFileName().toString().startsWith("snapstash-restore-")).findFirst().orElseThrow();
        report = dev.snapstash.core.util.Json.MAPPER.readTree(p.toFile());
      }
      assertThat(report.path("verification").path("ok").asBoolean()).isFalse();
    }
  }
}
