package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.sandbox.RunningSandbox;
import dev.snapstash.sandbox.SandboxOptions;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.load.LoadGenerator;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The backup engine's proof, on each database kind: a backup taken while real git clients push, restored into
 * fresh targets, holds every push acknowledged before the lock, and its database and repositories agree.
 */
class BackupUnderLoadIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();
  @RegisterExtension static final MariaDbFixture MARIADB = new MariaDbFixture();

  @TempDir Path tmp;

  @ParameterizedTest
  @EnumSource(DbKind.class)
  void aBackupUnderPushLoadIsConsistentAndRestorable(DbKind kind) throws Exception {
    TestDatabase source = database(kind);
    try (Scenario s = Scenario.start(tmp.resolve("sandbox"), kind, source)) {
      Path ledger = tmp.resolve("ledger.jsonl");
      Thread load = s.load(3, Duration.ofSeconds(10), ledger);
      await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(ledger) && Files.readAllLines(ledger).size() >= 3);

      Scenario.Run backup = snapstash("-c", s.config().toString(), "--json", "backup");
      assertThat(backup.exit()).as(backup.err()).isZero();
      JsonNode m = backup.json();
      assertThat(m.path("state").asText()).isEqualTo("COMPLETE");
      assertThat(m.path("lockWindowMillis").asLong()).isPositive();
      assertThat(m.path("database").path("artifacts").size()).isPositive();
      Instant lockedAt = Instant.parse(m.path("lockedAt").asText());
      String tag = m.path("tag").asText();
      load.join();

      assertThat(s.sandbox.maintenance().isLocked()).as("the instance was unlocked").isFalse();
      var task = s.sandbox.maintenance().task().orElseThrow();
      assertThat(task.state()).isEqualTo("SUCCESSFUL");
      assertThat(task.reported()).as("real progress was reported").contains(100).hasSizeGreaterThan(1);

      Scenario.Run list = snapstash("-c", s.config().toString(), "--json", "list");
      assertThat(list.json().get(0).path("tag").asText()).isEqualTo(tag);

      Path target = tmp.resolve("restored").resolve("home");
      TestDatabase scratch = kind == DbKind.H2 ? null : database(kind);
      Path restoreConfig = kind == DbKind.H2 ? s.config() : s.configWithDatabase(section(kind, scratch));
      Scenario.Run restore = snapstash("-c", restoreConfig.toString(), "restore", tag, "--home-target", target.toString());
      assertThat(restore.exit()).as(restore.err()).isZero();

      try (Connection c =
          kind == DbKind.H2
              ? Scenario.h2(target, s.dir.resolve("db-password"))
              : DriverManager.getConnection(scratch.jdbcUrl(), scratch.user(), scratch.password())) {
        s.assertConsistent(target, c, ledger, lockedAt);
      }

      // The restored copy serves: an instance on the restored home and database, every repository cloned.
      SandboxOptions restored =
          SandboxOptions.defaults(target.getParent())
              .withPort(0)
              .withDatabase(
                  kind,
                  kind == DbKind.H2 ? null : scratch.jdbcUrl(),
                  kind == DbKind.H2 ? "sa" : scratch.user(),
                  kind == DbKind.H2 ? s.dir.resolve("db-password") : scratch.passwordFile());
      try (RunningSandbox copy = RunningSandbox.start(restored, s.runner)) {
        Path clones = tmp.resolve("clones");
        Files.createDirectories(clones);
        for (SandboxDatabase.Repository r : copy.database().allRepositories()) {
          String url = copy.baseUrl() + "/scm/" + r.path().toLowerCase(java.util.Locale.ROOT) + ".git";
          s.runner.run(LoadGenerator.command(clones, "admin", copy.adminPassword(), "clone", "-q", "--mirror", url, r.path().replace('/', '_')));
        }
        for (var push : LoadGenerator.readLedger(ledger)) {
          if (Instant.parse(push.get("time")).isBefore(lockedAt)) {
            Path clone = clones.resolve(push.get("repo").replace('/', '_'));
            assertThat(s.git(clone, "merge-base", "--is-ancestor", push.get("sha"), push.get("ref")))
                .as("push %s is in the clone from the restored instance", push)
                .isZero();
          }
        }
      }
    }
  }

  private static TestDatabase database(DbKind kind) {
    return switch (kind) {
      case H2 -> null;
      case POSTGRESQL -> PG.newDatabase();
      case MARIADB -> MARIADB.newDatabase();
    };
  }

  static String section(DbKind kind, TestDatabase db) {
    String type = kind == DbKind.POSTGRESQL ? "postgresql" : "mysql";
    return "database:\n  type: " + type + "\n  " + type + ":\n    host: " + db.host() + "\n    port: " + db.port()
        + "\n    database: " + db.database() + "\n    username: " + db.user() + "\n    password: ${file:"
        + db.passwordFile() + "}\n";
  }
}
