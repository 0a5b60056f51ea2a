package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.testing.LoopFilesystem;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.Packs;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

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
      assertThat(s.push(2)).isEqualTo(2);
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
      Scenario.Run v = snapstash("-c", s.config().toString(), "--json", "verify", "--deep", "--drill");
      assertThat(v.exit()).as(v.out() + v.err()).isZero();
      JsonNode report = v.json();
      assertThat(report.path("checks").findValuesAsText("name"))
          .contains("checksums", "database-readable", "database-restores", "repositories-match",
              "latest-pushes-present", "pushes-present", "git-fsck", "drill-restore", "drill-clone", "drill-rto");
      // Both push checks, on the scratch copy of the backup's database: Bitbucket's tables (each repository's
      // generated content and the load client's pushes) and the sandbox's own ledger.
      for (JsonNode c : report.path("checks")) {
        assertThat(c.path("ok").asBoolean()).as(c.toString()).isTrue();
      }
      assertThat(report.path("checks").findValuesAsText("detail"))
          .anySatisfy(d -> assertThat(d).startsWith("newest recorded push of 3 repositories: ").endsWith("each object present"))
          .contains("2 pushes in the sandbox's push_ledger, each with its commit");
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

  /**
   * A blob damaged in the live repository is backed up faithfully, so every checksum matches the copy: only the
   * full fsck of {@code --deep} reads the object and finds the damage; the default sample, connectivity-only,
   * passes.
   */
  @Test
  void aBlobDamagedBeforeTheBackupIsFoundByDeepVerifyOnly() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      Path repo;
      try (Stream<Path> repos = Files.list(s.dir.resolve("home/shared/data/repositories"))) {
        repo = repos.sorted().findFirst().orElseThrow();
      }
      Packs.flipAByteInsideABlob(repo, s.runner);
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();

      Scenario.Run sample = snapstash("-c", s.config().toString(), "verify");
      assertThat(sample.exit()).as(sample.out() + sample.err()).isZero();
      assertThat(sample.out()).contains("pass  checksums").contains("pass  git-fsck            3 of 3 repositories connected");

      Scenario.Run deep = snapstash("-c", s.config().toString(), "verify", "--deep");
      assertThat(deep.exit()).as(deep.out() + deep.err()).isEqualTo(11);
      assertThat(deep.out())
          .contains("pass  checksums")
          .contains("FAIL  git-fsck            1 damaged: " + repo.getFileName() + " (" + repo.getFileName() + ": error:")
          .contains("; full fsck of 3 of 3 repositories, every object read");
      assertThat(deep.err()).contains("failed verification: git-fsck: 1 damaged");

      JsonNode json = snapstash("-c", s.config().toString(), "--json", "verify", "--deep").json();
      assertThat(json.path("error").path("exitCode").asInt()).isEqualTo(11);
      assertThat(json.path("result").path("fsck").path("mode").asText()).isEqualTo("full");
      assertThat(json.path("result").path("ok").asBoolean()).isFalse();
      JsonNode manifest = snapstash("-c", s.config().toString(), "--json", "list").json().get(0);
      assertThat(manifest.path("verification").path("ok").asBoolean()).isFalse();
      assertThat(manifest.path("verification").path("fsck").path("checked").asInt()).isEqualTo(3);
    }
  }

  /**
   * {@code --deep} within a budget: when it runs out the rest is not checked, which is said in the text, the JSON
   * and the manifest, and is not a failure. The budget comes from verify.fsck-budget or --fsck-budget.
   */
  @Test
  void deepVerifyKeepsToItsBudgetAndSaysWhatItCovered() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();

      Scenario.Run cut = snapstash("-c", s.config().toString(), "verify", "--deep", "--fsck-budget", "1ms");
      assertThat(cut.exit()).as(cut.out() + cut.err()).isZero();
      assertThat(cut.out())
          .contains("pass  git-fsck            full fsck of 0 of 3 repositories within the budget of 1ms; the rest not checked")
          .contains("all checks passed in ")
          .contains("; git fsck covered 0 of 3 repositories within its budget of 1ms");
      JsonNode recorded = snapstash("-c", s.config().toString(), "--json", "list").json().get(0).path("verification");
      assertThat(recorded.path("ok").asBoolean()).isTrue();
      assertThat(recorded.path("deep").asBoolean()).isTrue();
      assertThat(recorded.path("fsck").path("mode").asText()).isEqualTo("full");
      assertThat(recorded.path("fsck").path("checked").asInt()).isZero();
      assertThat(recorded.path("fsck").path("total").asInt()).isEqualTo(3);
      assertThat(recorded.path("fsck").path("budget").asText()).isEqualTo("PT0.001S");
      assertThat(recorded.path("fsck").path("budgetExhausted").asBoolean()).isTrue();

      Path config = tmp.resolve("budget.yml");
      Files.writeString(config, Files.readString(s.config()) + "verify:\n  fsck-budget: 1ms\n");
      Scenario.Run fromConfig = snapstash("-c", config.toString(), "--json", "verify", "--deep");
      assertThat(fromConfig.exit()).as(fromConfig.err()).isZero();
      assertThat(fromConfig.json().path("fsck").path("budgetExhausted").asBoolean()).isTrue();
      assertThat(fromConfig.json().path("fsck").path("budget").asText()).isEqualTo("PT0.001S");

      Scenario.Run whole = snapstash("-c", s.config().toString(), "--json", "verify", "--deep");
      assertThat(whole.exit()).as(whole.err()).isZero();
      assertThat(whole.json().path("fsck").path("budgetExhausted").asBoolean()).isFalse();
      assertThat(whole.json().path("fsck").path("checked").asInt()).isEqualTo(3);
      assertThat(whole.json().path("fsck").path("budget").asText()).isEqualTo("PT1H");
      assertThat(whole.json().path("checks").findValuesAsText("detail"))
          .contains("full fsck of 3 of 3 repositories, every object read");

      Scenario.Run notDeep = snapstash("-c", s.config().toString(), "verify", "--fsck-budget", "5m");
      assertThat(notDeep.exit()).isEqualTo(2);
      assertThat(notDeep.err()).contains("--fsck-budget").contains("--deep");
      assertThat(snapstash("-c", s.config().toString(), "verify", "--deep", "--fsck-budget", "soon").err())
          .contains("'soon' is not a duration like 30s, 5m or 1h");
    }
  }

  /**
   * Issue #16, as an administrator found it: one byte flipped in a pack of a backup, its modification time put back
   * ({@code touch -r}). The next backup used to hard-link the damaged pack (or keep it from the btrfs snapshot), say
   * complete, and pass it on to every later backup; only verify noticed. Now the next backup copies the pack afresh,
   * verifies, and reports the repair, while the damaged backup still fails verification. Hard-linked backups, and
   * btrfs snapshots on a btrfs backup root.
   */
  @ParameterizedTest(name = "backup root on btrfs: {0}")
  @ValueSource(booleans = {false, true})
  void aByteFlippedInAPackOfABackupDoesNotReachTheNextOnes(boolean btrfsRoot) throws Exception {
    try (LoopFilesystem fs = btrfsRoot ? LoopFilesystem.create(tmp, "btrfs", 400) : null;
        Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      Path backups = fs == null ? s.backups() : fs.mountPoint().resolve("backups");
      Path config = s.config();
      if (fs != null) {
        config = s.dir.resolve("btrfs-root.yml");
        Files.writeString(config, Files.readString(s.config()).replaceAll("(?m)^  root: .*$", "  root: " + backups));
      }
      Scenario.Run b1 = snapstash("-c", config.toString(), "--json", "backup");
      assertThat(b1.exit()).as(b1.err()).isZero();
      String first = b1.json().path("tag").asText();
      Path firstHome = backups.resolve(first).resolve("home");
      List<Path> packs;
      try (Stream<Path> files = Files.walk(firstHome)) {
        packs = files.filter(p -> p.toString().endsWith(".pack") && p.getParent().endsWith("objects/pack")).sorted().toList();
      }
      assertThat(packs).hasSizeGreaterThanOrEqualTo(2);
      Path pack = packs.get(0);
      String rel = firstHome.relativize(pack).toString();
      Object damagedInode = Files.getAttribute(pack, "unix:ino");
      flipAByteKeepingTheTime(pack);

      Scenario.Run b2 = snapstash("-c", config.toString(), "--json", "backup");
      assertThat(b2.exit()).as(b2.err()).isZero();
      JsonNode m = b2.json();
      assertThat(m.path("state").asText()).isEqualTo("COMPLETE");
      String second = m.path("tag").asText();
      Path copy = backups.resolve(second).resolve("home").resolve(rel);
      assertThat(Files.getAttribute(copy, "unix:ino")).as("not the damaged inode").isNotEqualTo(damagedInode);
      assertThat(Files.getAttribute(copy, "unix:nlink")).as("shared with no other backup").isEqualTo(1);
      Scenario.Run v2 = snapstash("-c", config.toString(), "verify", second);
      assertThat(v2.exit()).as("the new backup verifies: " + v2.err()).isZero();
      assertThat(m.path("repaired").path("count").asLong()).as(b2.out()).isEqualTo(1);
      assertThat(m.path("repaired").path("paths").get(0).asText()).isEqualTo(rel);
      assertThat(m.path("repaired").path("previous").asText()).isEqualTo(first);
      Scenario.Run list = snapstash("-c", config.toString(), "--json", "list");
      assertThat(list.exit()).isZero();
      assertThat(list.json().get(0).path("repaired").path("count").asLong()).isEqualTo(1);
      assertThat(snapstash("-c", config.toString(), "list").exit()).isZero();
      Scenario.Run old = snapstash("-c", config.toString(), "verify", first);
      assertThat(old.exit()).as("the damaged backup is left as it was").isEqualTo(11);
      assertThat(old.err()).contains(pack.getFileName().toString());

      // Damage in the fresh backup is caught the same way; the text summary says so.
      Path other = backups.resolve(second).resolve("home").resolve(firstHome.relativize(packs.get(1)));
      flipAByteKeepingTheTime(other);
      Scenario.Run b3 = snapstash("-c", config.toString(), "backup");
      assertThat(b3.exit()).as(b3.err()).isZero();
      assertThat(b3.out()).contains("repaired     1 file(s) damaged in " + second);
      String third = b3.out().lines().findFirst().orElseThrow().split(" ")[1];
      assertThat(snapstash("-c", config.toString(), "verify", third).exit()).isZero();
      // Every later backup holds a good copy of both packs, none shares the damaged ones.
      for (Path p : List.of(pack, packs.get(1))) {
        Path later = backups.resolve(third).resolve("home").resolve(firstHome.relativize(p));
        assertThat(Files.getAttribute(later, "unix:ino")).isNotEqualTo(Files.getAttribute(backups.resolve(first).resolve("home").resolve(firstHome.relativize(p)), "unix:ino"));
      }
    }
  }

  /** What an administrator does to test the tool: one byte flipped, the modification time put back. */
  private static void flipAByteKeepingTheTime(Path file) throws Exception {
    java.nio.file.attribute.FileTime mtime = Files.getLastModifiedTime(file);
    byte[] b = Files.readAllBytes(file);
    b[b.length / 2] ^= 1;
    Files.write(file, b);
    Files.setLastModifiedTime(file, mtime);
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
