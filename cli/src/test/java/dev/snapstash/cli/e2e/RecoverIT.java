package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A backup process killed with SIGKILL (no clean-up runs at all) leaves a journal; the next backup refuses until
 * {@code recover} has unlocked the instance and removed the partial backup; then everything works again.
 */
class RecoverIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();

  @TempDir Path tmp;

  private Process backupProcess(Scenario s, Path out) throws Exception {
    Path jar = Path.of("target/snapstash.jar");
    assertThat(jar).as("the shaded jar (built by package)").exists();
    return new ProcessBuilder("java", "-jar", jar.toString(), "-c", s.config().toString(), "backup")
        .redirectErrorStream(true)
        .redirectOutput(out.toFile())
        .start();
  }

  /** Backup directories, not snapstash's own hidden ones (a killed run's barrier waits for the next backup). */
  private static List<Path> backups(Scenario s) throws Exception {
    return s.backupDirs().stream().filter(d -> !d.getFileName().toString().startsWith(".")).toList();
  }

  private static void sigkill(Process p) throws Exception {
    p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void sigkillWhileDrainingIsRecovered() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      s.sandbox.knobs().minDrain(Duration.ofSeconds(60));
      Process p = backupProcess(s, tmp.resolve("out.txt"));
      Path journal = Journal.file(s.backups());
      // Draining: the instance has started the backup task and snapstash has journaled its cancel token. Between
      // the instance's answer and that journal line a kill leaves no cancel token (see the #4 note), so the kill
      // waits for the line, not only for the task.
      await().atMost(Duration.ofSeconds(30)).until(
          () -> s.sandbox.maintenance().task().isPresent()
              && Files.exists(journal)
              && Files.readString(journal).contains("\"cancelToken\""));
      Scenario.Run live = snapstash("-c", s.config().toString(), "list");
      assertThat(live.out()).containsPattern("sandbox-\\S+ +in-progress ").doesNotContain("died");
      JsonNode running = snapstash("-c", s.config().toString(), "--json", "list").json().get(0);
      assertThat(running.path("run").path("state").asText()).isEqualTo("running");
      assertThat(running.path("run").path("pid").asLong()).isEqualTo(p.pid());
      sigkill(p);
      s.sandbox.knobs().minDrain(Duration.ofMillis(200));

      // No process holds the backup any more: list says so, and what to do; the manifest on disk is as written.
      Scenario.Run dead = snapstash("-c", s.config().toString(), "list");
      assertThat(dead.out()).containsPattern("sandbox-\\S+ +died ").doesNotContain("in-progress");
      assertThat(dead.out()).contains(": died; run `snapstash recover` (its run (pid " + p.pid() + ") is gone");
      JsonNode died = snapstash("-c", s.config().toString(), "--json", "list").json().get(0);
      assertThat(died.path("state").asText()).isEqualTo("IN_PROGRESS");
      assertThat(died.path("run").path("state").asText()).isEqualTo("died");
      assertThat(died.path("run").path("pid").asLong()).isEqualTo(p.pid());
      assertThat(died.path("run").path("recoverable").asBoolean()).isTrue();
      String tag = died.path("tag").asText();
      String onDisk = Files.readString(s.backups().resolve(tag).resolve("manifest.json"));
      assertThat(onDisk).contains("\"state\" : \"IN_PROGRESS\"").doesNotContain("\"run\"");

      assertThat(s.sandbox.maintenance().isLocked()).as("SIGKILL runs no clean-up").isTrue();
      assertThat(journal).exists();
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(journal))).isEqualTo("rw-------");
      assertThat(Files.readString(journal)).as("the journal holds the tokens, never the password").doesNotContain(s.sandbox.adminPassword());

      Scenario.Run refused = snapstash("-c", s.config().toString(), "backup");
      assertThat(refused.exit()).isEqualTo(7);
      assertThat(refused.err()).contains("snapstash recover");
      assertThat(snapstash("-c", s.config().toString(), "check").out()).contains("FAIL  journal");

      Scenario.Run recover = snapstash("-c", s.config().toString(), "--json", "recover");
      assertThat(recover.exit()).as(recover.out() + recover.err()).isZero();
      assertThat(recover.json().path("tag").asText()).isEqualTo(tag);
      assertThat(recover.json().path("failed").size()).isZero();
      assertThat(recover.json().path("undone").toString())
          .contains("cancel the backup task").contains("unlock").contains("remove the partial backup " + tag);
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();
      assertThat(s.sandbox.maintenance().task().orElseThrow().state()).isEqualTo("CANCELED");
      assertThat(s.backupDirs()).isEmpty();
      assertThat(journal).doesNotExist();

      Scenario.Run again = snapstash("-c", s.config().toString(), "recover");
      assertThat(again.exit()).isZero();
      assertThat(again.out()).contains("nothing to recover");
      Scenario.Run againJson = snapstash("-c", s.config().toString(), "--json", "recover");
      assertThat(againJson.exit()).as(againJson.out() + againJson.err()).isZero();
      assertThat(againJson.json().path("tag").isNull()).isTrue();
      assertThat(againJson.json().path("undone").size()).isZero();

      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
      assertThat(snapstash("-c", s.config().toString(), "verify").exit()).isZero();
    }
  }

  @Test
  void sigkillDuringTheDatabaseCopyIsRecoveredByAutoRecover() throws Exception {
    TestDatabase db = PG.newDatabase();
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.POSTGRESQL, db);
        Connection blocker = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
      blocker.setAutoCommit(false);
      try (Statement st = blocker.createStatement()) {
        st.execute("LOCK TABLE push_ledger IN ACCESS EXCLUSIVE MODE");
      }
      Process p = backupProcess(s, tmp.resolve("out.txt"));
      await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(s.backups()) && !s.backupDirs().isEmpty()
          && p.descendants().anyMatch(h -> h.info().command().orElse("").endsWith("pg_dump")
              && List.of(h.info().arguments().orElse(new String[0])).contains("-Fd")));
      sigkill(p);
      blocker.rollback();
      // pg_dump runs after the unlock, from the snapshot pinned under the lock: the instance is up, but the
      // partial backup and the journal are left behind.
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();
      assertThat(Journal.file(s.backups())).exists();
      // And pg_dump's password file: under the backup root, named after the dead process, never in /tmp.
      Path secrets = s.backups().resolve(dev.snapstash.core.util.PrivateFiles.DIR);
      List<Path> left;
      try (var found = Files.find(secrets, 2, (f, a) -> f.getFileName().toString().equals("pgpass"))) {
        left = found.toList();
      }
      assertThat(left).singleElement().satisfies(f -> {
        assertThat(f.getParent().getFileName().toString()).startsWith("snapstash-pg-pid" + p.pid() + "-");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
      });
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(secrets))).isEqualTo("rwx------");
      try (var tmpDirs = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
        assertThat(tmpDirs.map(f -> f.getFileName().toString())).noneMatch(n -> n.startsWith("snapstash-pg-pid" + p.pid()));
      }

      Scenario.Run r = snapstash("-c", s.config().toString(), "backup", "--auto-recover");
      assertThat(r.exit()).as(r.err()).isZero();
      assertThat(r.err()).contains("recovered the previous run");
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();
      assertThat(s.backupDirs()).hasSize(1);
      assertThat(Journal.file(s.backups())).doesNotExist();
      assertThat(left.get(0).getParent()).as("the dead run's password file, removed by recover").doesNotExist();
      assertThat(secrets).as("the new backup's own, removed when it ended, and the directory with them").doesNotExist();
    }
  }

  /**
   * A run under the {@code command} quiescer SIGKILLed under its lock, on a host where a freezing strategy had
   * frozen a mount (what an EBS run leaves; no strategy of this build freezes, so that part of the journal is
   * written here as such a run writes it): recover thaws the mount, runs the quiescer's release command and
   * removes the partial backup. Replayed again, a mount no longer frozen and a release already run count as done.
   */
  @Test
  void recoverReplaysTheCommandQuiescersReleaseAndAThaw() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null);
        dev.snapstash.testing.LoopFilesystem fs = dev.snapstash.testing.LoopFilesystem.create(tmp, "ext4", 16)) {
      Path quiesced = tmp.resolve("application-quiesced");
      String yml = Files.readString(s.config());
      Path config = tmp.resolve("command.yml");
      Files.writeString(config, yml.replace("quiesce:\n  type: bitbucket\n",
          "quiesce:\n  type: command\n  command:\n    lock: [touch, " + quiesced + "]\n    unlock: [rm, " + quiesced + "]\n"));
      assertThat(Files.readString(config)).contains("type: command");
      var runner = new dev.snapstash.core.process.ProcessRunner();
      Path mount = fs.mountPoint();
      try {
        FaultMatrixIT.Stopped run =
            FaultMatrixIT.stopAt(config, dev.snapstash.core.util.FaultPoints.AFTER_COPY_UNDER_LOCK, tmp);
        run.kill();
        assertThat(quiesced).as("SIGKILL runs no release command").exists();
        runner.run(dev.snapstash.core.process.Command.of("fsfreeze", "-f", mount.toString()));
        try (Journal j = Journal.resume(s.backups())) {
          j.add(new dev.snapstash.core.freeze.Thaw(mount));
        }
        assertThat(backups(s)).as("the killed run's partial backup").hasSize(1);

        Scenario.Run recover = snapstash("-c", config.toString(), "recover");
        assertThat(recover.exit()).as(recover.out() + recover.err()).isZero();
        assertThat(recover.out()).contains("thaw " + mount).contains("run rm " + quiesced).contains("remove the partial backup");
        assertThat(recover.out().indexOf("thaw")).as("thaw first").isLessThan(recover.out().indexOf("run rm"));
        assertThat(quiesced).as("the release command ran").doesNotExist();
        assertThat(runner.runAllowingFailure(
                dev.snapstash.core.process.Command.of("touch", mount.resolve("writable").toString()).withTimeout(Duration.ofSeconds(10)), l -> {})
            .exitCode()).as("the mount is thawed").isZero();
        assertThat(backups(s)).isEmpty();
        assertThat(Journal.file(s.backups())).doesNotExist();

        // Already undone (by hand, say, before recover ran): a thaw of a mount that is not frozen counts as done.
        // The release command is the operator's own and runs again; ours is rm -f-safe only if written so.
        try (Journal j = Journal.begin(s.backups(), "backup", "sandbox-20240101-000000")) {
          j.add(new dev.snapstash.core.freeze.Thaw(mount));
          j.add(new dev.snapstash.strategy.quiesce.command.RunCommand(List.of("rm", "-f", quiesced.toString())));
        }
        Scenario.Run again = snapstash("-c", config.toString(), "recover");
        assertThat(again.exit()).as(again.out() + again.err()).isZero();
        assertThat(Journal.file(s.backups())).doesNotExist();
      } finally {
        runner.runAllowingFailure(dev.snapstash.core.process.Command.of("fsfreeze", "-u", mount.toString()), l -> {});
      }
    }
  }

  /**
   * A dead run's lock that is gone by the time recover runs (an administrator released it, the instance restarted)
   * never strands the journal, whatever the instance answers for "no such lock": 404 (the likely answer), 409 or
   * 403.
   */
  @ParameterizedTest(name = "no such lock answered {0}")
  @ValueSource(ints = {404, 409, 403})
  void aLockThatIsGoneCountsAsReleased(int noSuchLock) throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      s.sandbox.knobs().minDrain(Duration.ofSeconds(60)).noSuchLockStatus(noSuchLock);
      var admin = new dev.snapstash.core.bitbucket.BitbucketClient(
          java.net.URI.create(s.sandbox.baseUrl()), "admin", s.sandbox.adminPassword(), Duration.ofSeconds(10));
      String unlockToken = admin.lock();
      String cancelToken = admin.startBackup(unlockToken);
      try (Journal j = Journal.begin(s.backups(), "backup", "sandbox-20240101T000000Z")) {
        j.add(new dev.snapstash.strategy.quiesce.bitbucket.BitbucketUndo.Unlock(admin.baseUrl(), unlockToken));
        j.add(new dev.snapstash.strategy.quiesce.bitbucket.BitbucketUndo.CancelTask(admin.baseUrl(), cancelToken));
      }
      s.sandbox.maintenance().unlock(unlockToken);

      Scenario.Run recover = snapstash("-c", s.config().toString(), "recover");
      assertThat(recover.exit()).as(recover.out() + recover.err()).isZero();
      assertThat(recover.out()).contains("unlock").contains("cancel the backup task");
      assertThat(Journal.file(s.backups())).doesNotExist();
      // The slow drain held the dead run's task; the backup that proves the instance usable again need not wait
      // out a minute of it (three minutes of the suite, over the three answers).
      s.sandbox.knobs().minDrain(Duration.ofMillis(200));
      assertThat(snapstash("-c", s.config().toString(), "backup").exit()).isZero();
    }
  }

  /**
   * Recover run with credentials that lack SYSADMIN must not count the refused unlock as "already released": the
   * journal holds the only copy of the unlock token while the instance is still locked. Bitbucket's REST API
   * answers a missing permission with 401 (OAS); 403 is checked too.
   */
  @ParameterizedTest(name = "permission refused with {0}")
  @ValueSource(ints = {401, 403})
  void recoverWithoutSysadminPermissionDoesNotDiscardAnUnlockTokenItCouldNotUse(int denied) throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      s.sandbox.knobs().minDrain(Duration.ofSeconds(60)).permissionDeniedStatus(denied);
      // What a run SIGKILLed while draining leaves: the instance locked with a task, and a journal with both tokens.
      var admin = new dev.snapstash.core.bitbucket.BitbucketClient(
          java.net.URI.create(s.sandbox.baseUrl()), "admin", s.sandbox.adminPassword(), Duration.ofSeconds(10));
      String unlockToken = admin.lock();
      String cancelToken = admin.startBackup(unlockToken);
      try (Journal j = Journal.begin(s.backups(), "backup", "sandbox-20240101T000000Z")) {
        j.add(new dev.snapstash.strategy.quiesce.bitbucket.BitbucketUndo.Unlock(admin.baseUrl(), unlockToken));
        j.add(new dev.snapstash.strategy.quiesce.bitbucket.BitbucketUndo.CancelTask(admin.baseUrl(), cancelToken));
      }
      // The configuration now names an account without SYSADMIN (a rotated service account, a typo'd user).
      String yml = Files.readString(s.config());
      Path userConfig = tmp.resolve("user.yml");
      Files.writeString(userConfig, yml.replace("username: admin", "username: user")
          .replace(s.sandbox.state().adminPasswordFile(), s.sandbox.layout().userPassword().toString()));
      assertThat(Files.readString(userConfig)).contains("username: user");

      Scenario.Run recover = snapstash("-c", userConfig.toString(), "recover");

      assertThat(recover.exit()).as("recover could not finish: %s%s", recover.out(), recover.err()).isEqualTo(7);
      assertThat(recover.err()).contains("SYSADMIN");
      assertThat(s.sandbox.maintenance().isLocked()).as("the instance is still locked").isTrue();
      assertThat(Journal.pending(Journal.read(s.backups())))
          .as("the journal keeps the unlock token for a recover with the right user")
          .contains(new dev.snapstash.strategy.quiesce.bitbucket.BitbucketUndo.Unlock(admin.baseUrl(), unlockToken));

      // An administrator's recover, with the same journal, releases it: nothing else holds the token.
      Scenario.Run byAdmin = snapstash("-c", s.config().toString(), "recover");
      assertThat(byAdmin.exit()).as(byAdmin.out() + byAdmin.err()).isZero();
      assertThat(s.sandbox.maintenance().isLocked()).as("unlocked by the administrator's recover").isFalse();
      assertThat(s.sandbox.maintenance().task().orElseThrow().state()).isEqualTo("CANCELED");
      assertThat(Journal.file(s.backups())).doesNotExist();
    }
  }
}
