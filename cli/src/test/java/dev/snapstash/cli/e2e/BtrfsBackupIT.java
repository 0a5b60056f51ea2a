package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.testing.LoopFilesystem;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import dev.snapstash.testing.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The btrfs strategy end to end, on a sandbox whose home is a subvolume of a real btrfs loop filesystem and whose
 * backups go to a second one, under push load: with the Bitbucket lock (sub-second lock window), and with no lock
 * at all (zero-downtime: the database fixed first, then the home snapshot).
 */
class BtrfsBackupIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();

  private final ProcessRunner runner = new ProcessRunner();
  private Path dir;
  private LoopFilesystem homeFs;
  private LoopFilesystem backupFs;

  @BeforeEach
  void filesystems() throws Exception {
    dir = TestDirs.newEnterableDir("btrfs-e2e");
    Files.createDirectories(dir.resolve("a"));
    Files.createDirectories(dir.resolve("b"));
    homeFs = LoopFilesystem.create(dir.resolve("a"), "btrfs", 512);
    backupFs = LoopFilesystem.create(dir.resolve("b"), "btrfs", 512);
  }

  @AfterEach
  void cleanUp() {
    if (homeFs != null) {
      homeFs.close();
    }
    if (backupFs != null) {
      backupFs.close();
    }
    TestDirs.deleteRecursively(dir);
  }

  private Scenario start(TestDatabase db) {
    Path sandboxDir = homeFs.mountPoint().resolve("sandbox");
    runner.run(Command.of("mkdir", "-p", sandboxDir.toString()));
    runner.run(Command.of("btrfs", "subvolume", "create", sandboxDir.resolve("home").toString()).discardingStdout());
    return Scenario.start(sandboxDir, db == null ? DbKind.H2 : DbKind.POSTGRESQL, db);
  }

  /**
   * The embedded database lives in the home: on the backup's filesystem the home comes back as one writable
   * snapshot, then the H2 copy taken by BACKUP TO replaces the database files the snapshot carried, and the
   * restored copy passes its checks.
   */
  @Test
  void anEmbeddedDatabaseIsRestoredIntoAHomeRestoredBySnapshot() throws Exception {
    try (Scenario s = start(null)) {
      Path config = config(s, "bitbucket");
      Scenario.Run backup = snapstash("-c", config.toString(), "--json", "backup");
      assertThat(backup.exit()).as(backup.err()).isZero();
      Path target = backupFs.mountPoint().resolve("restored");
      Scenario.Run restore = snapstash("-c", config.toString(), "restore", "latest", "--home-target", target.toString());
      assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
      assertThat(runner.runAllowingFailure(Command.of("btrfs", "subvolume", "show", target.toString()).discardingStdout(), l -> {}).exitCode())
          .as("restored as a writable snapshot")
          .isZero();
      try (Connection c = Scenario.h2(target, s.dir.resolve("db-password"))) {
        assertThat(Scenario.repositoryIds(c)).isNotEmpty();
      }
    }
  }

  /** The sandbox's own configuration, with the btrfs strategy, backups on the second filesystem, and a quiescer. */
  private Path config(Scenario s, String quiesce) throws Exception {
    String yml = Files.readString(s.config());
    yml = yml.replace("  type: rsync\n", "  type: btrfs\n")
        .replace("quiesce:\n  type: bitbucket\n", "quiesce:\n  type: " + quiesce + "\n")
        .replaceAll("(?m)^  root: .*$", "  root: " + backupFs.mountPoint().resolve("backups"));
    Path p = s.dir.resolve("btrfs-" + quiesce + ".yml");
    Files.writeString(p, yml);
    return p;
  }

  @Test
  void underTheLockOnlyASnapshotIsTakenAndTheRestoredCopyIsConsistent() throws Exception {
    try (Scenario s = start(PG.newDatabase())) {
      Path config = config(s, "bitbucket");
      Path ledger = dir.resolve("ledger.jsonl");
      Thread load = s.load(3, Duration.ofSeconds(8), ledger);
      await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(ledger) && Files.readAllLines(ledger).size() >= 3);

      Scenario.Run first = snapstash("-c", config.toString(), "--json", "backup");
      assertThat(first.exit()).as(first.err()).isZero();
      Scenario.Run second = snapstash("-c", config.toString(), "--json", "backup");
      assertThat(second.exit()).as(second.err()).isZero();
      load.join();
      JsonNode m = second.json();
      assertThat(m.path("strategies").path("disk").asText()).isEqualTo("btrfs");
      assertThat(m.path("home").path("details").path("transfer").asText()).isEqualTo("send");
      assertThat(m.path("home").path("details").has("parent")).as("the second backup is an incremental send").isTrue();
      assertThat(m.path("lockWindowMillis").asLong()).isPositive();
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();

      String tag = m.path("tag").asText();
      Path target = dir.resolve("restored/home");
      TestDatabase scratch = PG.newDatabase();
      Path restoreConfig = restoreConfig(s, config, scratch);
      Scenario.Run restore = snapstash("-c", restoreConfig.toString(), "restore", tag, "--home-target", target.toString());
      assertThat(restore.exit()).as(restore.err()).isZero();
      assertThat(dev.snapstash.core.engine.BitbucketProperties.get(target, "disaster.recovery")).isNull();
      try (Connection c = DriverManager.getConnection(scratch.jdbcUrl(), scratch.user(), scratch.password())) {
        s.assertConsistent(target, c, ledger, Instant.parse(m.path("lockedAt").asText()));
      }
      Scenario.Run verify = snapstash("-c", config.toString(), "verify", tag);
      assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
    }
  }

  /**
   * No lock: the instance never stops taking pushes. Every push the restored database records has its commit in
   * the restored repositories, because the database was fixed before the home snapshot.
   */
  @Test
  void zeroDowntimeNeverLocksAndTheDatabaseIsNeverAheadOfTheRepositories() throws Exception {
    try (Scenario s = start(PG.newDatabase())) {
      Path config = config(s, "none");
      Path ledger = dir.resolve("ledger.jsonl");
      Thread load = s.load(4, Duration.ofSeconds(8), ledger);
      await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(ledger) && Files.readAllLines(ledger).size() >= 3);

      Scenario.Run backup = snapstash("-c", config.toString(), "--json", "backup");
      assertThat(backup.exit()).as(backup.err()).isZero();
      load.join();
      JsonNode m = backup.json();
      assertThat(m.path("state").asText()).isEqualTo("COMPLETE");
      assertThat(m.path("lockWindowMillis").isMissingNode() || m.path("lockWindowMillis").isNull()).isTrue();
      assertThat(s.sandbox.maintenance().task()).as("no backup task was ever started").isEmpty();

      Path target = dir.resolve("restored/home");
      TestDatabase scratch = PG.newDatabase();
      Scenario.Run restore =
          snapstash("-c", restoreConfig(s, config, scratch).toString(), "restore", m.path("tag").asText(), "--home-target", target.toString());
      assertThat(restore.exit()).as(restore.err()).isZero();
      assertThat(dev.snapstash.core.engine.BitbucketProperties.get(target, "disaster.recovery"))
          .as("a lock-free backup is restored with Bitbucket's start-up integrity check switched on")
          .isEqualTo("true");
      assertThat(restore.out()).contains("disaster.recovery=true");
      try (Connection c = DriverManager.getConnection(scratch.jdbcUrl(), scratch.user(), scratch.password())) {
        List<Scenario.LedgerRow> rows = Scenario.ledger(c);
        assertThat(rows).as("pushes made before the backup are in it").isNotEmpty();
        for (Scenario.LedgerRow r : rows) {
          Path repo = target.resolve("shared/data/repositories/" + r.repositoryId());
          assertThat(s.git(repo, "cat-file", "-e", r.sha() + "^{commit}")).as("ledger row %s has its commit", r).isZero();
        }
      }
      Scenario.Run verify = snapstash("-c", config.toString(), "verify", m.path("tag").asText());
      assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
    }
  }

  /**
   * The fault matrix's btrfs point: killed after the snapshot, still locked. SIGKILL leaves the lock and the
   * snapshot to {@code recover}; SIGTERM cleans both up itself. Either way the next backup and verify pass.
   */
  @Test
  void killedOrSignalledAfterTheSnapshotLeavesNeitherLockNorSnapshot() throws Exception {
    try (Scenario s = start(PG.newDatabase())) {
      Path config = config(s, "bitbucket");
      Path snapshots = s.dir.resolve(".snapstash-snapshots");
      Path backups = backupFs.mountPoint().resolve("backups");

      FaultMatrixIT.Stopped killed = stopAfterSnapshot(config);
      assertThat(snapshotsIn(snapshots)).as("the snapshot exists when the run dies").hasSize(1);
      killed.kill();
      assertThat(s.sandbox.maintenance().isLocked()).isTrue();
      Scenario.Run recover = snapstash("-c", config.toString(), "recover");
      assertThat(recover.exit()).as(recover.out() + recover.err()).isZero();
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();
      assertThat(snapshotsIn(snapshots)).as("recover deleted the snapshot").isEmpty();
      assertThat(dirsIn(backups)).as("and the partial backup").isEmpty();

      FaultMatrixIT.Stopped signalled = stopAfterSnapshot(config);
      assertThat(signalled.terminate()).as("exit code after SIGTERM: %s", Files.readString(signalled.log())).isEqualTo(130);
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();
      assertThat(snapshotsIn(snapshots)).as("SIGTERM deleted the snapshot itself").isEmpty();
      assertThat(dirsIn(backups)).isEmpty();
      assertThat(dev.snapstash.core.engine.Journal.file(backups)).doesNotExist();

      Scenario.Run next = snapstash("-c", config.toString(), "--json", "backup");
      assertThat(next.exit()).as(next.err()).isZero();
      Scenario.Run verify = snapstash("-c", config.toString(), "verify");
      assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
    }
  }

  private FaultMatrixIT.Stopped stopAfterSnapshot(Path config) throws Exception {
    return FaultMatrixIT.stopAt(config, dev.snapstash.core.util.FaultPoints.AFTER_SNAPSHOT, dir);
  }

  private static List<Path> snapshotsIn(Path snapshots) throws Exception {
    if (!Files.isDirectory(snapshots)) {
      return List.of();
    }
    try (var l = Files.list(snapshots)) {
      return l.filter(d -> Files.exists(d.resolve("home"))).toList();
    }
  }

  private static List<Path> dirsIn(Path root) throws Exception {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (var l = Files.list(root)) {
      return l.filter(Files::isDirectory).toList();
    }
  }

  @Test
  void zeroDowntimeWithRsyncIsRefusedWithTheReason() throws Exception {
    try (Scenario s = start(PG.newDatabase())) {
      String yml = Files.readString(s.config()).replace("quiesce:\n  type: bitbucket\n", "quiesce:\n  type: none\n");
      Path p = s.dir.resolve("rsync-none.yml");
      Files.writeString(p, yml);
      Scenario.Run backup = snapstash("-c", p.toString(), "backup");
      assertThat(backup.exit()).isEqualTo(3);
      assertThat(backup.err()).contains("quiesce.type").contains("can never be consistent without a lock");
    }
  }

  private static Path restoreConfig(Scenario s, Path config, TestDatabase scratch) throws Exception {
    String yml = Files.readString(config);
    Path p = s.dir.resolve("restore-" + System.nanoTime() + ".yml");
    Files.writeString(p, yml.substring(0, yml.indexOf("database:\n")) + BackupUnderLoadIT.section(DbKind.POSTGRESQL, scratch));
    return p;
  }
}
