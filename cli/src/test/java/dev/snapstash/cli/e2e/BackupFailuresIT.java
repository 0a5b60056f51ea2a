package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.snapstash.core.engine.RunGuard;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.sandbox.maintenance.Maintenance;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every failure path of a backup against the real sandbox: each one ends with the instance unlocked (or never
 * locked), no partial backup on disk, one sentence on stderr and the documented exit code.
 */
class BackupFailuresIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();

  @TempDir Path tmp;

  @Test
  void aWrongDatabasePasswordIsRefusedBeforeTheLock() throws Exception {
    TestDatabase db = PG.newDatabase();
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.POSTGRESQL, db)) {
      Path wrong = tmp.resolve("wrong-password");
      Files.writeString(wrong, "not-the-password");
      Path config =
          s.configWithDatabase(
              BackupUnderLoadIT.section(DbKind.POSTGRESQL, db).replace(db.passwordFile().toString(), wrong.toString()));
      Scenario.Run r = snapstash("-c", config.toString(), "backup");
      assertThat(r.exit()).isEqualTo(5);
      assertThat(r.err()).contains("database.postgresql.password").doesNotContain("not-the-password").doesNotContain("Exception");
      assertThat(s.sandbox.maintenance().task()).as("never locked").isEmpty();
      assertThat(s.backupDirs()).isEmpty();
    }
  }

  /**
   * pg_dump killed while it reads. By default it runs after the unlock, from the snapshot pinned under the lock:
   * the backup task had already ended with the unlock (SUCCESSFUL, nothing left to cancel). With {@code
   * dump-after-unlock: false} it runs under the lock, and the failure path cancels the task, then unlocks.
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "dump-after-unlock {0}")
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void pgDumpKilledMidwayUnlocksAndLeavesNothing(boolean dumpAfterUnlock) throws Exception {
    TestDatabase db = PG.newDatabase();
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.POSTGRESQL, db);
        Connection blocker = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
      Path config = withDumpAfterUnlock(s, dumpAfterUnlock);
      // pg_dump waits for this lock, which keeps it running until the test kills it.
      blocker.setAutoCommit(false);
      try (Statement st = blocker.createStatement()) {
        st.execute("LOCK TABLE push_ledger IN ACCESS EXCLUSIVE MODE");
      }
      AtomicReference<Scenario.Run> result = new AtomicReference<>();
      Thread backup = new Thread(() -> result.set(snapstash("-c", config.toString(), "backup")));
      backup.start();
      ProcessHandle dump =
          await().atMost(Duration.ofSeconds(30)).until(() -> pgDump(db.database()), h -> h != null);
      assertThat(s.sandbox.maintenance().isLocked()).as("pg_dump runs under the lock").isEqualTo(!dumpAfterUnlock);
      dump.destroyForcibly();
      backup.join(60_000);
      blocker.rollback();
      assertThat(result.get().exit()).as(result.get().err()).isEqualTo(8);
      assertThat(result.get().err()).contains("pg_dump");
      assertThat(s.sandbox.maintenance().task().orElseThrow().state())
          .as("the backup task")
          .isEqualTo(dumpAfterUnlock ? "SUCCESSFUL" : "CANCELED");
      assertUnlockedAndEmpty(s);
    }
  }

  /** The sandbox's configuration with {@code database.postgresql.dump-after-unlock} set (its last section). */
  private static Path withDumpAfterUnlock(Scenario s, boolean dumpAfterUnlock) throws Exception {
    Path config = s.dir.resolve("dump-" + dumpAfterUnlock + ".yml");
    String yml = Files.readString(s.config());
    Files.writeString(config, yml + (yml.endsWith("\n") ? "" : "\n") + "    dump-after-unlock: " + dumpAfterUnlock + "\n");
    return config;
  }

  /**
   * The database server itself goes down while pg_dump reads from it, whether the dump runs after the unlock (from
   * the pinned snapshot, the default) or under the lock: the run fails with pg_dump's error, the instance is
   * unlocked, and no partial backup is left.
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "dump-after-unlock {0}")
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void theDatabaseServerStoppedMidDumpUnlocksAndLeavesNothing(boolean dumpAfterUnlock) throws Exception {
    Path dir = dev.snapstash.testing.TestDirs.newEnterableDir("pg-stopped");
    dev.snapstash.core.localdb.PostgresServer server =
        dev.snapstash.core.localdb.PostgresServer.start(dir.resolve("data"), 0, new dev.snapstash.core.process.ProcessRunner(), false);
    try {
      String password = "pw-" + System.nanoTime();
      server.createDatabase("bitbucket", "bitbucket", password);
      Path passwordFile = dir.resolve("db-password");
      Files.writeString(passwordFile, password);
      Files.setPosixFilePermissions(passwordFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      TestDatabase db =
          new TestDatabase("postgresql", server.host(), server.port(), "bitbucket", "bitbucket", password, passwordFile, server.jdbcUrl("bitbucket"));
      try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.POSTGRESQL, db)) {
        Path config = withDumpAfterUnlock(s, dumpAfterUnlock);
        Connection blocker = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
        // pg_dump waits for this lock, which keeps it reading until the server goes down.
        blocker.setAutoCommit(false);
        try (Statement st = blocker.createStatement()) {
          st.execute("LOCK TABLE push_ledger IN ACCESS EXCLUSIVE MODE");
        }
        AtomicReference<Scenario.Run> result = new AtomicReference<>();
        Thread backup = new Thread(() -> result.set(snapstash("-c", config.toString(), "backup")));
        backup.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> pgDump(db.database()), h -> h != null);
        server.stop();
        backup.join(120_000);
        blocker.close();
        assertThat(result.get().exit()).as(result.get().err()).isEqualTo(8);
        assertThat(result.get().err()).contains("pg_dump");
        assertUnlockedAndEmpty(s);
      }
    } finally {
      server.stop();
      dev.snapstash.testing.TestDirs.deleteRecursively(dir);
    }
  }

  private static ProcessHandle pgDump(String database) {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().command().orElse("").endsWith("pg_dump"))
        .filter(p -> String.join(" ", p.info().arguments().orElse(new String[0])).contains(database))
        .filter(p -> List.of(p.info().arguments().orElse(new String[0])).contains("-Fd"))
        .findFirst()
        .orElse(null);
  }

  @Test
  void aDrainDeadlineEndsTheRunUnlocked() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      s.sandbox.knobs().minDrain(Duration.ofSeconds(20));
      Scenario.Run r = snapstash("-c", s.configWithBackupKeys("drain-timeout: 1s").toString(), "backup");
      assertThat(r.exit()).isEqualTo(6);
      assertThat(r.err()).contains("did not drain within 1s").contains("backup.drain-timeout");
      assertUnlockedAndEmpty(s);
      assertThat(s.sandbox.maintenance().task().orElseThrow().state()).isEqualTo("CANCELED");
    }
  }

  @Test
  void aLockHeldBySomeoneElseIsLeftAlone() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      Maintenance.LockGrant other = s.sandbox.maintenance().lock(new Maintenance.Owner("ops", "Ops"));
      Scenario.Run r = snapstash("-c", s.config().toString(), "backup");
      // While locked, Bitbucket answers REST with 503, so preflight already sees the lock.
      assertThat(r.exit()).isEqualTo(6);
      assertThat(r.err()).contains("already in maintenance mode").contains("nothing was locked");
      assertThat(s.sandbox.maintenance().isLocked()).as("the other holder's lock is untouched").isTrue();
      s.sandbox.maintenance().unlock(other.unlockToken());
      assertThat(s.backupDirs()).isEmpty();
    }
  }

  @Test
  void aSecondConcurrentRunIsRefused() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null);
        RunGuard first = RunGuard.acquire(s.backups(), "backup")) {
      Scenario.Run r = snapstash("-c", s.config().toString(), "backup");
      assertThat(r.exit()).isEqualTo(10);
      assertThat(r.err())
          .contains("another snapstash run holds")
          .contains("pid " + ProcessHandle.current().pid())
          .containsPattern("started \\d{4}-\\d\\d-\\d\\dT");
      assertThat(s.sandbox.maintenance().task()).isEmpty();
    }
  }

  @Test
  void theInstanceVanishingMidRunEndsWithUnreachableAndNoPartialBackup() throws Exception {
    Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null);
    try {
      s.sandbox.knobs().minDrain(Duration.ofSeconds(20));
      AtomicReference<Scenario.Run> result = new AtomicReference<>();
      Thread backup = new Thread(() -> result.set(snapstash("-c", s.config().toString(), "backup")));
      backup.start();
      await().atMost(Duration.ofSeconds(30)).until(() -> s.sandbox.maintenance().task().isPresent());
      s.sandbox.close();
      backup.join(60_000);
      assertThat(result.get().exit()).as(result.get().err()).isEqualTo(4);
      assertThat(result.get().err()).contains("instance.base-url");
      assertThat(s.backupDirs()).isEmpty();

      // The unlock could not be sent, so the journal stays; the instance restarts on the same address (its lock
      // was in memory and is gone) and recover counts the refused unlock and cancel as already released.
      assertThat(dev.snapstash.core.engine.Journal.file(s.backups())).exists();
      int port = java.net.URI.create(s.sandbox.baseUrl()).getPort();
      try (dev.snapstash.sandbox.RunningSandbox again =
          dev.snapstash.sandbox.RunningSandbox.start(
              dev.snapstash.sandbox.SandboxOptions.defaults(s.dir).withPort(port).withContent(3, 3, 5, 2),
              new dev.snapstash.core.process.ProcessRunner())) {
        assertThat(again.maintenance().isLocked()).isFalse();
        Scenario.Run recover = snapstash("-c", s.config().toString(), "recover");
        assertThat(recover.exit()).as(recover.out() + recover.err()).isZero();
        assertThat(dev.snapstash.core.engine.Journal.file(s.backups())).doesNotExist();
        Scenario.Run next = snapstash("-c", s.config().toString(), "backup");
        assertThat(next.exit()).as(next.err()).isZero();
      }
    } finally {
      s.close();
    }
  }

  @Test
  void notificationsCarryTheOutcomeAndNoSecret() throws Exception {
    List<String> bodies = new CopyOnWriteArrayList<>();
    HttpServer hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    hook.createContext(
        "/hook",
        ex -> {
          bodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          ex.sendResponseHeaders(204, -1);
          ex.close();
        });
    hook.start();
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      String url = "http://127.0.0.1:" + hook.getAddress().getPort();
      Path config = s.dir.resolve("notify.yml");
      Files.writeString(
          config,
          Files.readString(s.config())
              + "notify:\n  - type: webhook\n    url: " + url + "/hook\n  - type: hipchat\n    url: " + url
              + "/hook\n    notify-room: true\n");
      assertThat(snapstash("-c", config.toString(), "backup").exit()).isZero();
      s.sandbox.knobs().taskOutcome("FAILED");
      assertThat(snapstash("-c", config.toString(), "backup").exit()).isEqualTo(6);
      await().atMost(Duration.ofSeconds(10)).until(() -> bodies.size() == 4);
      String admin = s.sandbox.adminPassword();
      String dbPassword = Files.readString(s.dir.resolve("db-password")).strip();
      for (String b : bodies) {
        assertThat(b).doesNotContain(admin).doesNotContain(dbPassword);
      }
      assertThat(bodies.get(0)).contains("\"text\"").contains("succeeded").contains("lockWindowMillis");
      assertThat(bodies.get(1)).contains("\"color\":\"green\"").contains("\"notify\":true");
      assertThat(bodies.get(2)).contains("FAILED").contains("\"state\":\"failed\"");
      assertThat(bodies.get(3)).contains("\"color\":\"red\"");
    } finally {
      hook.stop(0);
    }
  }

  private static void assertUnlockedAndEmpty(Scenario s) throws Exception {
    assertThat(s.sandbox.maintenance().isLocked()).as("the instance was unlocked").isFalse();
    assertThat(s.backupDirs()).as("no partial backup").isEmpty();
    assertThat(dev.snapstash.core.engine.Journal.file(s.backups())).as("nothing left to recover").doesNotExist();
  }
}
