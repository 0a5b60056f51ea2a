package dev.snapstash.core.engine;

import dev.snapstash.core.util.Json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.strategy.disk.rsync.RsyncDiskStrategy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine's order of steps and its failure paths, with real rsync on a temporary home and in-memory quiescer
 * and database strategies that record what was asked of them (the real quiescer is tested against the sandbox).
 */
class BackupEngineTest {
  @TempDir Path tmp;
  Path home;
  Path root;
  final List<String> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void home() throws Exception {
    home = tmp.resolve("home");
    root = tmp.resolve("backups");
    Files.createDirectories(home.resolve("shared/data/repositories/1/objects"));
    Files.writeString(home.resolve("shared/bitbucket.properties"), "jdbc.url=jdbc:h2:x\n");
    Files.writeString(home.resolve("shared/data/repositories/1/HEAD"), "ref: refs/heads/main\n");
    Files.createDirectories(home.resolve("caches"));
    Files.writeString(home.resolve("caches/junk"), "disposable");
  }

  @Test
  void aGoodBackupFollowsTheProtocolOrderAndRecordsTheLockWindow() {
    Manifest m = engine(new RecordingDatabase(null)).backup(Progress.NONE);
    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    assertThat(m.lockWindowMillis()).isNotNull();
    assertThat(events).containsSubsequence("check", "lock", "db-backup", "succeeded", "unlock");
    assertThat(events.indexOf("unlock")).isGreaterThan(events.indexOf("db-backup"));
    Path backupHome = root.resolve(m.tag()).resolve("home");
    assertThat(backupHome.resolve("shared/data/repositories/1/HEAD")).exists();
    assertThat(backupHome.resolve("caches")).doesNotExist();
    assertThat(new BackupStore(root).list()).extracting(Manifest::tag).containsExactly(m.tag());
  }

  @Test
  void theSecondBackupHardLinksUnchangedFiles() throws Exception {
    Manifest first = engine(new RecordingDatabase(null)).backup(Progress.NONE);
    Manifest second = engine(new RecordingDatabase(null)).backup(Progress.NONE);
    assertThat(second.tag()).isNotEqualTo(first.tag());
    Object a = Files.getAttribute(root.resolve(first.tag()).resolve("home/shared/bitbucket.properties"), "unix:ino");
    Object b = Files.getAttribute(root.resolve(second.tag()).resolve("home/shared/bitbucket.properties"), "unix:ino");
    assertThat(b).isEqualTo(a);
    assertThat(second.home().bytesWritten()).isZero();
  }

  @Test
  void aFailureUnderTheLockCancelsUnlocksAndRemovesThePartialBackup() throws Exception {
    var db = new RecordingDatabase(new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "pg_dump failed with exit code 1"));
    assertThatThrownBy(() -> engine(db).backup(Progress.NONE))
        .isInstanceOf(SnapstashException.class)
        .hasMessage("pg_dump failed with exit code 1");
    assertThat(events).containsSubsequence("lock", "db-backup", "cancel", "unlock", "db-cleanup");
    assertThat(events).doesNotContain("succeeded");
    assertThat(new BackupStore(root).list()).isEmpty();
    assertThat(dirsUnder(root)).isEmpty();
  }

  /**
   * What a database run opened before the lock (a PostgreSQL session) is released however the run ends: after a
   * capture that failed, only once the failure path has unlocked and cleaned up; after a good backup, too.
   */
  @Test
  void theDatabaseRunIsClosedAfterTheUnlockWhetherTheCaptureFailedOrNot() {
    var failing = new RecordingDatabase(new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "pg_dump failed with exit code 1"));
    assertThatThrownBy(() -> engine(failing).backup(Progress.NONE)).hasMessage("pg_dump failed with exit code 1");
    assertThat(events).containsSubsequence("db-prepare", "lock", "db-backup", "unlock", "db-cleanup", "db-run-close");
    assertThat(events).containsOnlyOnce("db-run-close");

    events.clear();
    engine(new RecordingDatabase(null)).backup(Progress.NONE);
    assertThat(events).containsSubsequence("db-prepare", "lock", "db-backup", "unlock", "db-run-close");
    assertThat(events).containsOnlyOnce("db-run-close");
  }

  @Test
  void anUnlockFailureIsAddedToTheFirstErrorNotSwallowed() {
    var db = new RecordingDatabase(new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "dump failed"));
    quiescer.failUnlock = true;
    assertThatThrownBy(() -> engine(db).backup(Progress.NONE))
        .hasMessage("dump failed")
        .satisfies(e -> assertThat(e.getSuppressed()).extracting(Throwable::getMessage).contains("unlock refused"));
  }

  @Test
  void anUnlockThatFailsAfterAGoodCopyIsRetriedAndTheJournalKeptForRecover() {
    quiescer.failUnlock = true;
    assertThatThrownBy(() -> engine(new RecordingDatabase(null)).backup(Progress.NONE))
        .hasMessage("unlock refused")
        .satisfies(e -> assertThat(e.getSuppressed()).extracting(Throwable::getMessage).contains("clean-up was incomplete; run `snapstash recover` to finish it"));
    assertThat(events.stream().filter("unlock"::equals).count()).as("the failure path tries the unlock again").isEqualTo(2);
    assertThat(Journal.pending(Journal.read(root))).as("what recover must still do").hasAtLeastOneElementOfType(dev.snapstash.strategy.quiesce.command.RunCommand.class);
  }

  /**
   * A webhook that sends its headers and never finishes its body is given up after the notifier's 10 s, and the
   * run's own outcome stands: a good backup is returned complete, a failed one keeps its error (and exit code).
   */
  @Test
  void aWebhookThatNeverFinishesChangesNeitherTheResultNorTheError() throws Exception {
    try (java.net.ServerSocket server = new java.net.ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
      Thread accepting = new Thread(() -> {
        while (!server.isClosed()) {
          try {
            java.net.Socket c = server.accept();
            Thread t = new Thread(() -> {
              try (c) {
                c.getInputStream().read(new byte[8192]);
                c.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nok".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                c.getOutputStream().flush();
                Thread.sleep(120_000); // the rest of the body never comes
              } catch (Exception e) {
                // the test is over
              }
            });
            t.setDaemon(true);
            t.start();
          } catch (java.io.IOException closed) {
            return;
          }
        }
      });
      accepting.setDaemon(true);
      accepting.start();
      var hook = new dev.snapstash.strategy.notify.webhook.WebhookNotifier(
          dev.snapstash.strategy.notify.webhook.WebhookNotifier.Shape.WEBHOOK,
          java.net.URI.create("http://127.0.0.1:" + server.getLocalPort() + "/hook"), null, true, true, false);

      long t = System.nanoTime();
      Manifest m = engine(new RecordingDatabase(null), List.of(hook)).backup(Progress.NONE);
      assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
      assertThat(new BackupStore(root).list()).extracting(Manifest::tag).containsExactly(m.tag());
      assertThat(Duration.ofNanos(System.nanoTime() - t)).as("the notification was waited for, up to its limit").isGreaterThanOrEqualTo(Duration.ofSeconds(10));

      var db = new RecordingDatabase(new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "pg_dump failed with exit code 1"));
      assertThatThrownBy(() -> engine(db, List.of(hook)).backup(Progress.NONE))
          .hasMessage("pg_dump failed with exit code 1")
          .extracting(e -> ((SnapstashException) e).kind())
          .as("EXTERNAL_COMMAND, exit 8, whatever the webhook did")
          .isEqualTo(ErrorKind.EXTERNAL_COMMAND);
      assertThat(new BackupStore(root).list()).extracting(Manifest::tag).containsExactly(m.tag());
    }
  }

  @Test
  void aPreflightProblemStopsTheRunBeforeAnyLock() {
    quiescer.problem = "cannot reach Bitbucket";
    assertThatThrownBy(() -> engine(new RecordingDatabase(null)).backup(Progress.NONE))
        .hasMessageContaining("nothing was locked")
        .hasMessageContaining("cannot reach Bitbucket")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.UNREACHABLE);
    assertThat(events).doesNotContain("lock");
  }

  /** The home is walked (and watched) beside the preflight: what changes meanwhile must still be copied. */
  @Test
  void aChangeMadeDuringThePreflightIsInTheBackupAndTheDeltaStaysTracked() throws Exception {
    quiescer.onCheck = () -> {
      try {
        Files.writeString(home.resolve("shared/data/repositories/1/HEAD"), "ref: refs/heads/during-preflight\n");
        Files.createDirectories(home.resolve("shared/data/repositories/1/objects/ab"));
        Files.writeString(home.resolve("shared/data/repositories/1/objects/ab/cdef"), "new object");
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
    Manifest m = engine(new RecordingDatabase(null)).backup(Progress.NONE);
    Path backupHome = root.resolve(m.tag()).resolve("home");
    assertThat(backupHome.resolve("shared/data/repositories/1/HEAD")).hasContent("ref: refs/heads/during-preflight");
    assertThat(backupHome.resolve("shared/data/repositories/1/objects/ab/cdef")).hasContent("new object");
    assertThat(m.home().details().get("delta")).startsWith("tracked");
  }

  @Test
  void aFailedPreflightStopsTheWalkBesideItAndLeavesNoBarrierDirectory() throws Exception {
    Path tmpdir = Path.of(System.getProperty("java.io.tmpdir"));
    java.util.Set<Path> inTmp = namesStartingWith(tmpdir, "snapstash-barrier-");
    quiescer.problem = "cannot reach Bitbucket";
    assertThatThrownBy(() -> engine(new RecordingDatabase(null)).backup(Progress.NONE)).hasMessageContaining("cannot reach Bitbucket");
    // The walk is not waited for, but its barrier directory goes at once: a CLI exits right after, killing the walk.
    assertThat(namesStartingWith(root, ".barrier-")).isEmpty();
    assertThat(namesStartingWith(tmpdir, "snapstash-barrier-")).isEqualTo(inTmp);
    assertThat(dirsUnder(root)).isEmpty();
  }

  /** A SIGKILLed run cannot delete its barrier directory; it is in the backup root, where the next run finds it. */
  @Test
  void aBarrierDirectoryLeftByAKilledRunIsRemovedByTheNextRun() throws Exception {
    Path left = Files.createDirectories(root.resolve(".barrier-1234"));
    Files.createFile(left.resolve("barrier-1"));
    Manifest m = engine(new RecordingDatabase(null)).backup(Progress.NONE);
    assertThat(m.home().details().get("delta")).startsWith("tracked");
    assertThat(left).doesNotExist();
    assertThat(namesStartingWith(root, ".barrier-")).isEmpty();
  }

  private static java.util.Set<Path> namesStartingWith(Path dir, String prefix) throws Exception {
    try (var s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(prefix)).collect(java.util.stream.Collectors.toSet());
    }
  }

  @Test
  void aSecondConcurrentRunIsRefusedWithBusy() {
    try (RunGuard held = RunGuard.acquire(root, "backup")) {
      assertThatThrownBy(() -> engine(new RecordingDatabase(null)).backup(Progress.NONE))
          .hasMessageContaining("another snapstash run holds")
          .hasMessageContaining("pid " + ProcessHandle.current().pid())
          .extracting(e -> ((SnapstashException) e).kind())
          .isEqualTo(ErrorKind.BUSY);
    }
    assertThat(events).doesNotContain("lock");
  }

  @Test
  void anInterruptUnderTheLockUnlocksAndRemovesTheBackup() throws Exception {
    CountDownLatch inCopy = new CountDownLatch(1);
    var db = new RecordingDatabase(null);
    db.block = inCopy;
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread t =
        new Thread(
            () -> {
              try {
                engine(db).backup(Progress.NONE);
              } catch (Throwable e) {
                thrown.set(e);
              }
            });
    t.start();
    inCopy.await();
    t.interrupt();
    t.join(30_000);
    assertThat(thrown.get()).isInstanceOf(SnapstashException.class);
    assertThat(((SnapstashException) thrown.get()).kind()).as("INTERRUPTED, exit 130").isEqualTo(ErrorKind.INTERRUPTED);
    assertThat(events).containsSubsequence("lock", "cancel", "unlock");
    assertThat(dirsUnder(root)).isEmpty();
    assertThat(Journal.file(root)).as("nothing left to recover").doesNotExist();
  }

  @Test
  void zeroDowntimeWithAFileByFileCopyIsRefused() {
    quiescer.locks = false;
    assertThatThrownBy(() -> engine(new RecordingDatabase(null)).backup(Progress.NONE))
        .hasMessageContaining("can never be consistent without a lock")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.CONFIG);
  }

  @Test
  void aBackupTargetThatFillsUpUnderTheLockIsAStorageErrorAndLeavesNothing() throws Exception {
    try (var fs = dev.snapstash.testing.LoopFilesystem.create(tmp, "ext4", 24)) {
      root = fs.mountPoint().resolve("backups");
      // Preflight sees a small home; while the lock is taken the home grows past the target's free space.
      quiescer.onLock =
          () -> {
            try {
              byte[] mib = new byte[1024 * 1024];
              new java.util.Random(1).nextBytes(mib);
              for (int i = 0; i < 40; i++) {
                Files.write(home.resolve("shared/data/repositories/1/objects/pack-" + i), mib);
              }
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          };
      assertThatThrownBy(() -> engine(new RecordingDatabase(null)).backup(Progress.NONE))
          .isInstanceOf(SnapstashException.class)
          .hasMessageContaining("is full")
          .hasMessageContaining("backup.root")
          .extracting(e -> ((SnapstashException) e).kind())
          .as("STORAGE, exit 9")
          .isEqualTo(ErrorKind.STORAGE);
      assertThat(events).containsSubsequence("lock", "cancel", "unlock");
      assertThat(dirsUnder(root)).isEmpty();
      assertThat(Journal.file(root)).as("nothing left to recover").doesNotExist();
    }
  }

  /**
   * The manifest's home bytes-written of a first backup is everything the copy stored. A pack hard-linked between
   * two repositories in the live home is copied once (rsync -H) but has two links in the backup, so it is counted
   * as if shared with a previous backup, and the first backup claims to have written nothing for it.
   */
  @Test
  void aFirstBackupCountsAFileHardLinkedWithinTheHomeAsWritten() throws Exception {
    Path pack = home.resolve("shared/data/repositories/1/objects/p.pack");
    Files.write(pack, new byte[100_000]);
    Files.createDirectories(home.resolve("shared/data/repositories/2/objects"));
    Files.createLink(home.resolve("shared/data/repositories/2/objects/p.pack"), pack);

    Manifest m = engine(new RecordingDatabase(null)).backup(Progress.NONE);

    Path copy = root.resolve(m.tag()).resolve("home/shared/data/repositories/1/objects/p.pack");
    assertThat(Files.getAttribute(copy, "unix:nlink")).as("stored once, with both names").isEqualTo(2);
    assertThat(m.home().bytesWritten()).isGreaterThanOrEqualTo(100_000);
  }

  /**
   * instance.name accepts a leading dot, but the store treats every name starting with a dot as its own working
   * directory: the complete backup is never listed (no restore of "latest", no --link-dest, no retention), and
   * with the name ".removing-bb" the next prune's sweep deletes it as an interrupted removal.
   */
  @Test
  void anInstanceNameWithALeadingDotIsRefusedOrItsBackupsListed() throws Exception {
    BackupEngine dotted =
        new BackupEngine(
            new BackupEngine.Settings(".removing-bb", home, new BackupStore(root), new Retention.Policy(0, 0, 0, 0), false, 0, "test"),
            quiescer,
            new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, new ProcessRunner()),
            new RecordingDatabase(null),
            List.of(),
            Clock.systemUTC(),
            System::nanoTime);
    Manifest m;
    try {
      m = dotted.backup(Progress.NONE);
    } catch (SnapstashException refused) {
      assertThat(refused.kind()).isEqualTo(ErrorKind.CONFIG);
      return; // refusing the name is a fix too
    }
    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    new Pruner(new BackupStore(root)).prune(new Retention.Policy(5, 0, 0, 0), false, Progress.NONE);
    assertThat(root.resolve(m.tag()).resolve("home/shared/bitbucket.properties")).as("the complete backup's home").exists();
    assertThat(new BackupStore(root).list()).extracting(Manifest::tag).containsExactly(m.tag());
  }

  /**
   * Issue #16: an administrator flips one byte in a pack of a backup and puts its modification time back ({@code
   * touch -r}). The next backup must not share that copy (a hard link, or a file kept from a snapshot of the previous
   * home): it copies the pack afresh from the home, completes, verifies, and reports the damage; the damaged backup
   * is left as it is, so that verifying it still fails. Both ways of building on the previous backup: hard links,
   * and btrfs snapshots on a btrfs backup root.
   */
  @ParameterizedTest(name = "btrfs clones: {0}")
  @ValueSource(booleans = {false, true})
  void aByteFlippedInThePreviousBackupIsNotSharedByTheNextOne(boolean clones) throws Exception {
    try (var fs = clones ? dev.snapstash.testing.LoopFilesystem.create(tmp, "btrfs", 300) : null) {
      if (fs != null) {
        root = fs.mountPoint().resolve("backups");
      }
      String rel = "shared/data/repositories/1/objects/pack/pack-1.pack";
      byte[] pack = new byte[64 * 1024];
      new java.util.Random(16).nextBytes(pack);
      Files.createDirectories(home.resolve(rel).getParent());
      Files.write(home.resolve(rel), pack);
      // Change times past the home index's one-second margin: the index then vouches for every directory, and the
      // pre-copy into the snapshot copies nothing, so only the check can keep the damaged pack out.
      Thread.sleep(1_100);
      Manifest first = engine(new RecordingDatabase(null), clones, 0).backup(Progress.NONE);
      Path damaged = root.resolve(first.tag()).resolve("home").resolve(rel);
      Object damagedInode = Files.getAttribute(damaged, "unix:ino");
      flipAByteKeepingTheTime(damaged);

      String log = stderrOf(() -> second.set(engine(new RecordingDatabase(null), clones, 0).backup(Progress.NONE)));
      Manifest m = second.get();
      assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
      if (clones) {
        assertThat(m.home().details().get("pre-copy")).startsWith("0 of ");
      }
      Path copy = root.resolve(m.tag()).resolve("home").resolve(rel);
      assertThat(dev.snapstash.core.util.Digests.sha256(copy))
          .as("the home's bytes, not the damaged copy's")
          .isEqualTo(dev.snapstash.core.util.Digests.sha256(home.resolve(rel)));
      assertThat(Files.getAttribute(copy, "unix:ino")).as("not the damaged inode").isNotEqualTo(damagedInode);
      assertThat(Files.getAttribute(copy, "unix:nlink")).isEqualTo(1);
      assertThat(HomeChecksums.verify(root.resolve(m.tag()), 2).ok()).as("the new backup verifies").isTrue();
      assertThat(HomeChecksums.verify(root.resolve(first.tag()), 2).mismatched())
          .as("the damaged backup is left as it is")
          .containsExactly(rel);
      var repaired = Json.MAPPER.readTree(root.resolve(m.tag()).resolve(Manifest.FILE).toFile()).path("repaired");
      assertThat(repaired.path("count").asLong()).isEqualTo(1);
      assertThat(repaired.path("paths").get(0).asText()).isEqualTo(rel);
      assertThat(repaired.path("previous").asText()).isEqualTo(first.tag());
      assertThat(log).contains("no longer match").contains(rel).contains(first.tag());

      // The repair is done once: the next backup proves every file of this one by a stat, and reads none again.
      Manifest third = engine(new RecordingDatabase(null), clones, 0).backup(Progress.NONE);
      assertThat(third.home().details().get("previous-check")).matches("(\\d+) of \\1 files unchanged by their stamps, 0 read again, 0 damaged");
      assertThat(HomeChecksums.verify(root.resolve(third.tag()), 2).ok()).isTrue();
    }
  }

  /**
   * Without a pre-copy the copy under the lock is the one that hard-links: the damaged files, found before the lock,
   * are copied afresh under it, after that copy.
   */
  @Test
  void withoutAPreCopyTheDamagedFileIsCopiedAfreshUnderTheLock() throws Exception {
    String rel = "shared/data/repositories/1/objects/pack/pack-3.pack";
    Files.createDirectories(home.resolve(rel).getParent());
    Files.writeString(home.resolve(rel), "p".repeat(5_000));
    Manifest first = engine(new RecordingDatabase(null), false, 0, false).backup(Progress.NONE);
    Path damaged = root.resolve(first.tag()).resolve("home").resolve(rel);
    Object damagedInode = Files.getAttribute(damaged, "unix:ino");
    flipAByteKeepingTheTime(damaged);

    Manifest m = engine(new RecordingDatabase(null), false, 0, false).backup(Progress.NONE);
    Path copy = root.resolve(m.tag()).resolve("home").resolve(rel);
    assertThat(Files.getAttribute(copy, "unix:ino")).isNotEqualTo(damagedInode);
    assertThat(copy).hasContent("p".repeat(5_000));
    assertThat(HomeChecksums.verify(root.resolve(m.tag()), 2).ok()).isTrue();
    assertThat(m.home().details().get("delta")).isEqualTo("whole home: no pre-copy");
  }

  /** A damaged file of the previous backup that the home no longer has is simply not in the next one. */
  @ParameterizedTest(name = "btrfs clones: {0}")
  @ValueSource(booleans = {false, true})
  void aDamagedFileThatTheHomeNoLongerHasDoesNotFailTheNextBackup(boolean clones) throws Exception {
    var fs = clones ? dev.snapstash.testing.LoopFilesystem.create(tmp, "btrfs", 300) : null;
    if (fs != null) {
      root = fs.mountPoint().resolve("backups");
    }
    try (fs) {
      deletedDamagedFile(clones);
    }
  }

  private void deletedDamagedFile(boolean clones) throws Exception {
    String rel = "shared/data/repositories/1/objects/pack/pack-2.pack";
    Files.createDirectories(home.resolve(rel).getParent());
    Files.writeString(home.resolve(rel), "a pack that git gc will remove");
    Thread.sleep(1_100); // past the home index's margin, as in the test above
    Manifest first = engine(new RecordingDatabase(null), clones, 0).backup(Progress.NONE);
    flipAByteKeepingTheTime(root.resolve(first.tag()).resolve("home").resolve(rel));
    Files.delete(home.resolve(rel));

    Manifest m = engine(new RecordingDatabase(null), clones, 0).backup(Progress.NONE);
    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    assertThat(root.resolve(m.tag()).resolve("home").resolve(rel)).doesNotExist();
    assertThat(HomeChecksums.verify(root.resolve(m.tag()), 2).ok()).isTrue();
    assertThat(Json.MAPPER.readTree(root.resolve(m.tag()).resolve(Manifest.FILE).toFile()).path("repaired").path("count").asLong())
        .as("reported all the same")
        .isEqualTo(1);
  }

  /**
   * Pruning a hard-linked backup unlinks its files, which moves the change time of every inode the newest backup
   * shares with it. The prune stamps the newest backup's proven files again, so that the next backup still proves
   * them by a stat and does not read the whole previous backup again.
   */
  /**
   * Once the backup is complete and its journal gone, a failure after it (retention tripping over a damaged
   * manifest here: a complete backup without a start time, which the daily rule cannot date) must not reach the
   * failure path, which removed the complete backup as if it were a partial one.
   */
  @Test
  void aFailureInRetentionAfterTheBackupNeverRemovesTheCompleteBackup() throws Exception {
    Path old = Files.createDirectories(root.resolve("bb-20200101-000000"));
    Files.writeString(old.resolve(Manifest.FILE), "{\"tag\":\"bb-20200101-000000\",\"state\":\"COMPLETE\"}");
    BackupEngine engine = new BackupEngine(
        new BackupEngine.Settings("bb", home, new BackupStore(root), new Retention.Policy(1, 2, 0, 0), true, 0, "test"),
        quiescer,
        new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, new ProcessRunner()),
        new RecordingDatabase(null),
        List.of(),
        Clock.systemUTC(),
        System::nanoTime);

    Manifest m = engine.backup(Progress.NONE);

    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    assertThat(root.resolve(m.tag()).resolve(Manifest.FILE)).exists();
    assertThat(new BackupStore(root).latestComplete().map(Manifest::tag)).contains(m.tag());
    assertThat(tmp.resolve("instance-locked")).as("unlocked").doesNotExist();
  }

  @Test
  void retentionKeepsTheNewestBackupsStampsSoTheNextBackupReadsNothingAgain() throws Exception {
    for (int i = 0; i < 3; i++) {
      engine(new RecordingDatabase(null), false, 2).backup(Progress.NONE);
    }
    assertThat(new BackupStore(root).list()).hasSize(2);
    Manifest fourth = engine(new RecordingDatabase(null), false, 2).backup(Progress.NONE);
    assertThat(fourth.home().details().get("previous-check")).matches("(\\d+) of \\1 files unchanged by their stamps, 0 read again, 0 damaged");
  }

  /** A backup taken before stamps existed has none: the first backup after it reads it once, and finds it good. */
  @Test
  void aPreviousBackupWithoutStampsIsReadOnceAndStampedByTheNext() throws Exception {
    Manifest first = engine(new RecordingDatabase(null), false, 0).backup(Progress.NONE);
    Files.delete(root.resolve(first.tag()).resolve(HomeStamps.FILE));
    Manifest second = engine(new RecordingDatabase(null), false, 0).backup(Progress.NONE);
    assertThat(second.home().details().get("previous-check")).isEqualTo("0 of 2 files unchanged by their stamps, 2 read again, 0 damaged");
    assertThat(second.repaired()).isNull();
    assertThat(second.home().bytesWritten()).as("still hard-linked").isZero();
    Manifest third = engine(new RecordingDatabase(null), false, 0).backup(Progress.NONE);
    assertThat(third.home().details().get("previous-check")).isEqualTo("2 of 2 files unchanged by their stamps, 0 read again, 0 damaged");
  }

  private final AtomicReference<Manifest> second = new AtomicReference<>();

  /** What an administrator does to test the tool: one byte flipped, the modification time put back. */
  static void flipAByteKeepingTheTime(Path file) throws Exception {
    java.nio.file.attribute.FileTime mtime = Files.getLastModifiedTime(file);
    byte[] b = Files.readAllBytes(file);
    b[b.length / 2] ^= 1;
    Files.write(file, b);
    Files.setLastModifiedTime(file, mtime);
  }

  /** What the run logs on stderr (slf4j-simple writes to whatever System.err is). */
  private static String stderrOf(Runnable run) {
    java.io.PrintStream was = System.err;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      run.run();
    } finally {
      System.setErr(was);
    }
    String text = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
    was.print(text);
    return text;
  }

  private static List<Path> dirsUnder(Path root) throws Exception {
    try (var s = Files.list(root)) {
      return s.filter(Files::isDirectory).toList();
    }
  }

  final RecordingQuiescer quiescer = new RecordingQuiescer(events, () -> tmp.resolve("instance-locked"));

  private BackupEngine engine(DatabaseStrategy db) {
    return engine(db, false, 0);
  }

  private BackupEngine engine(DatabaseStrategy db, List<dev.snapstash.core.spi.Notifier> notifiers) {
    return engine(db, false, 0, true, notifiers);
  }

  /** With btrfs clones or not, and keeping the last {@code keepLast} backups after each (0: no retention). */
  private BackupEngine engine(DatabaseStrategy db, boolean clones, int keepLast) {
    return engine(db, clones, keepLast, true);
  }

  private BackupEngine engine(DatabaseStrategy db, boolean clones, int keepLast, boolean preCopy) {
    return engine(db, clones, keepLast, preCopy, List.of());
  }

  private BackupEngine engine(
      DatabaseStrategy db, boolean clones, int keepLast, boolean preCopy, List<dev.snapstash.core.spi.Notifier> notifiers) {
    return new BackupEngine(
        new BackupEngine.Settings(
            "bb", home, new BackupStore(root), new Retention.Policy(keepLast, 0, 0, 0), keepLast > 0, 0, "test"),
        quiescer,
        new RsyncDiskStrategy(home, List.of(), true, true, clones, preCopy, true, 1, new ProcessRunner()),
        db,
        notifiers,
        Clock.systemUTC(),
        System::nanoTime);
  }

  final class RecordingDatabase implements DatabaseStrategy {
    private final SnapstashException failure;
    CountDownLatch block;

    RecordingDatabase(SnapstashException failure) {
      this.failure = failure;
    }

    @Override
    public String name() {
      return "recording";
    }

    @Override
    public void check(Findings findings) {}

    @Override
    public Run prepareBackup(BackupContext context) {
      events.add("db-prepare");
      return new Run() {
        @Override
        public Pending capture(BackupContext underLock) {
          return Pending.done(backup(underLock));
        }

        @Override
        public void close() {
          events.add("db-run-close");
        }
      };
    }

    @Override
    public CopyResult backup(BackupContext context) {
      events.add("db-backup");
      if (block != null) {
        block.countDown();
        try {
          Thread.sleep(60_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new SnapstashException(ErrorKind.INTERRUPTED, "dump interrupted");
        }
      }
      if (failure != null) {
        throw failure;
      }
      return CopyResult.empty(name());
    }

    @Override
    public void cleanupIncomplete(BackupContext context) {
      events.add("db-cleanup");
    }

    @Override
    public void prepareRestore(RestoreContext context) {}

    @Override
    public void restore(RestoreContext context) {}
  }
}
