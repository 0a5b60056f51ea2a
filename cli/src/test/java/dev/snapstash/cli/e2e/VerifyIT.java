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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** verify passes good backups on every database kind, and catches (and restore refuses) damaged ones. */
class VerifyIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();
  @RegisterExtension static final MariaDbFixture MARIADB = new MariaDbFixture();

  @TempDir Path tmp;

  @ParameterizedTest
  @EnumSource(DbKind.class)
  void aGoodBackupPassesEveryCheck(DbKind kind) throws Exception {
    TestDatabase db = kind == DbKind.POSTGRESQL ? PG.newDatabase() : kind == DbKind.MARIADB ? MARIADB.newDatabase() : null;
    try (Scenario s = Scenario.start(tmp.resolve("sb"), kind, db)) {
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
      Scenario.Run v = snapstash("-c", s.config().toString(), "--json", "verify", "--deep", "--drill");
      assertThat(v.exit()).as(v.out() + v.err()).isZero();
      JsonNode report = v.json();
      assertThat(report.path("checks").findValuesAsText("name"))
          .contains("checksums", "database-readable", "database-restores", "repositories-match", "git-fsck",
              "drill-restore", "drill-clone", "drill-rto");
      assertThat(v.out()).contains("3 repositories cloned over HTTP from the restored instance");
      if (kind != DbKind.H2) {
        // The drill's instance found its database where Bitbucket finds it: in the restored bitbucket.properties,
        // which the restore pointed at the scratch database.
        assertThat(v.out()).contains("the restored instance uses the restored database");
      }
      // The manifest records the verification and which repositories were fsck'ed.
      JsonNode manifest = snapstash("-c", s.config().toString(), "--json", "list").json().get(0);
      assertThat(manifest.path("verification").path("ok").asBoolean()).isTrue();
      assertThat(manifest.path("verification").path("fsckRepositories").size()).isEqualTo(3);
    }
  }

  @Test
  void aFlippedByteInAPackIsCaughtAndRefused() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
      Path pack;
      try (Stream<Path> files = Files.walk(s.backups())) {
        pack = files.filter(p -> p.toString().endsWith(".pack")).findFirst().orElseThrow();
      }
      byte[] b = Files.readAllBytes(pack);
      b[b.length / 2] ^= 1;
      Files.write(pack, b);
      Scenario.Run v = snapstash("-c", s.config().toString(), "verify");
      assertThat(v.exit()).isEqualTo(11);
      assertThat(v.err()).contains("checksums").contains(pack.getFileName().toString());
      Path target = tmp.resolve("target");
      Scenario.Run r = snapstash("-c", s.config().toString(), "restore", "latest", "--home-target", target.toString());
      assertThat(r.exit()).isEqualTo(11);
      assertThat(target).doesNotExist();
    }
  }

  @Test
  void aTruncatedDumpIsCaughtAndRefused() throws Exception {
    TestDatabase db = PG.newDatabase();
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.POSTGRESQL, db)) {
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
      Path toc;
      try (Stream<Path> files = Files.walk(s.backups())) {
        toc = files.filter(p -> p.getFileName().toString().equals("toc.dat")).findFirst().orElseThrow();
      }
      byte[] b = Files.readAllBytes(toc);
      Files.write(toc, java.util.Arrays.copyOf(b, b.length / 2));
      Scenario.Run v = snapstash("-c", s.config().toString(), "verify");
      assertThat(v.exit()).isEqualTo(11);
      assertThat(v.out()).contains("FAIL  checksums").contains("FAIL  database-readable");
      Path target = tmp.resolve("target");
      Path fresh = s.configWithDatabase(BackupUnderLoadIT.section(DbKind.POSTGRESQL, PG.newDatabase()));
      assertThat(snapstash("-c", fresh.toString(), "restore", "latest", "--home-target", target.toString()).exit())
          .isEqualTo(11);
      assertThat(target).doesNotExist();
    }
  }

  @Test
  void quickstartRunsTheWholeLoopAndCleansUp() throws Exception {
    Path dir = tmp.resolve("qs");
    Scenario.Run q = snapstash("--json", "quickstart", "--dir", dir.toString());
    assertThat(q.exit()).as(q.err()).isZero();
    JsonNode summary = q.json();
    assertThat(summary.path("lockWindowMillis").asLong()).isPositive();
    assertThat(summary.path("repositoriesCloned").asInt()).isEqualTo(4);
    assertThat(summary.path("checksPassed").asText()).matches("(\\d+) of \\1");
    assertThat(dir).doesNotExist();
  }
}
