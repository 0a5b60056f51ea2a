package dev.snapstash.strategy.disk.btrfs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.HomeChecksums;
import dev.snapstash.core.engine.PreviousHome;
import dev.snapstash.core.localdb.PostgresServer;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.core.util.Digests;
import dev.snapstash.core.util.Trees;
import dev.snapstash.testing.LoopFilesystem;
import dev.snapstash.testing.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The btrfs strategy on real btrfs filesystems on loop devices: one holds the home subvolume and its snapshots,
 * another the backups (as on a real host, where backups go to another disk). Both are unmounted and removed after
 * each test, also when it fails.
 */
class BtrfsDiskStrategyIT {
  private final ProcessRunner runner = new ProcessRunner();
  private final List<AutoCloseable> closeLast = new ArrayList<>();
  private Path dir;
  private LoopFilesystem source;
  private LoopFilesystem target;
  private Path home;
  private Path root;

  @BeforeEach
  void filesystems() throws Exception {
    dir = TestDirs.newEnterableDir("btrfs");
    Files.createDirectories(dir.resolve("a"));
    Files.createDirectories(dir.resolve("b"));
    source = LoopFilesystem.create(dir.resolve("a"), "btrfs", 400);
    target = LoopFilesystem.create(dir.resolve("b"), "btrfs", 400);
    home = source.mountPoint().resolve("home");
    runner.run(Command.of("btrfs", "subvolume", "create", home.toString()).discardingStdout());
    root = target.mountPoint().resolve("backups");
    Files.createDirectories(root);
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (AutoCloseable c : closeLast) {
      c.close();
    }
    if (source != null) {
      source.close();
    }
    if (target != null) {
      target.close();
    }
    TestDirs.deleteRecursively(dir);
  }

  private BtrfsDiskStrategy strategy(String transfer, Path backupRoot) {
    return new BtrfsDiskStrategy(new dev.snapstash.strategy.disk.btrfs.BtrfsSettings("", transfer, 1), home, backupRoot, true, runner);
  }

  private static BackupContext context(Path root, String tag, Optional<Path> previous, UndoLog undo) {
    return new BackupContext(tag, root.resolve(tag), previous, Progress.NONE, undo);
  }

  private CopyResult backup(BtrfsDiskStrategy s, BackupContext ctx) {
    s.prepareBackup(ctx);
    CopyResult underLock = s.backup(ctx);
    return s.afterUnlock(ctx, underLock);
  }

  private void writeHome(String relative, String content) throws Exception {
    Path f = home.resolve(relative);
    Files.createDirectories(f.getParent());
    Files.writeString(f, content);
  }

  /**
   * A snapshot of the home is as good as a backup: the directories that hold it are their owner's only, like the
   * backup directory, under the usual umask; the snapshot and the copy in the backup keep the home's own mode.
   */
  @Test
  void snapshotAndBackupDirectoriesAreTheOwnersOnlyAndTheCopyKeepsTheHomesMode() throws Exception {
    writeHome("shared/bitbucket.properties", "jdbc.password=secret\n");
    Files.setPosixFilePermissions(home, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x--x"));
    Files.setPosixFilePermissions(
        home.resolve("shared/bitbucket.properties"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
    for (String transfer : List.of("send", "rsync")) {
      BtrfsDiskStrategy s = strategy(transfer, root);
      BackupContext ctx = context(root, "i-20261130-08000" + (transfer.equals("send") ? 0 : 1), Optional.empty(), UndoLog.NONE);
      try (dev.snapstash.testing.Umask u = dev.snapstash.testing.Umask.set(022)) {
        backup(s, ctx);
      }
      assertThat(mode(s.snapshotDirectory())).as("the snapshot directory snapstash made").isEqualTo("rwx------");
      assertThat(mode(s.snapshotOf(ctx.tag()).getParent())).isEqualTo("rwx------");
      assertThat(mode(s.snapshotOf(ctx.tag()))).as("the snapshot: the home's mode").isEqualTo("rwxr-x--x");
      assertThat(mode(ctx.backupDir())).as(transfer).isEqualTo("rwx------");
      assertThat(mode(ctx.homeDir())).as(transfer + ": the home's mode, not the backup's").isEqualTo("rwxr-x--x");
      assertThat(mode(ctx.homeDir().resolve("shared/bitbucket.properties"))).as(transfer).isEqualTo("rw-r-----");
    }
  }

  private static String mode(Path p) throws Exception {
    return java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(p, java.nio.file.LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void sendsFullThenIncrementalAndKeepsOnlyTheNewestSnapshot() throws Exception {
    writeHome("shared/data/repositories/1/objects/pack/p1.pack", "x".repeat(200_000));
    writeHome("shared/data/repositories/1/refs/heads/main", "a".repeat(40) + "\n");
    writeHome("caches/big", "disposable");
    BtrfsDiskStrategy s = strategy("auto", root);
    assertThat(s.transfer()).isEqualTo(BtrfsDiskStrategy.Transfer.SEND);
    Findings f = new Findings();
    s.check(f);
    assertThat(f.problems()).isEmpty();

    List<Undo> journal = new ArrayList<>();
    UndoLog undo = recording(journal);
    BackupContext first = context(root, "i-20261130-080000", Optional.empty(), undo);
    CopyResult r1 = backup(s, first);
    assertThat(r1.details()).containsEntry("transfer", "send").doesNotContainKey("parent");
    assertThat(journal).containsExactly(new DeleteSnapshot("btrfs-subvolume", s.snapshotOf(first.tag()).toString()));
    assertThat(first.homeDir().resolve("shared/data/repositories/1/refs/heads/main")).hasContent("a".repeat(40));

    // Changes after the first snapshot; the second backup sends only them.
    writeHome("shared/data/repositories/1/refs/heads/main", "b".repeat(40) + "\n");
    writeHome("shared/data/repositories/1/objects/pack/p2.pack", "y".repeat(1000));
    BackupContext second = context(root, "i-20261130-090000", Optional.of(first.backupDir()), undo);
    CopyResult r2 = backup(s, second);
    assertThat(r2.details()).containsEntry("parent", s.snapshotOf(first.tag()).toString());
    assertThat(r2.bytesTransferred()).isLessThan(r1.bytesTransferred() / 10);
    assertThat(second.homeDir().resolve("shared/data/repositories/1/refs/heads/main")).hasContent("b".repeat(40));
    assertThat(second.homeDir().resolve("shared/data/repositories/1/objects/pack/p1.pack")).hasSize(200_000);
    assertThat(first.homeDir().resolve("shared/data/repositories/1/refs/heads/main")).hasContent("a".repeat(40));

    // Checksums are reused for the files the incremental receive left untouched: only the rewritten ref and
    // the new pack are read again.
    dev.snapstash.core.engine.HomeChecksums.write(first.backupDir(), Optional.empty(), 2);
    assertThat(dev.snapstash.core.engine.HomeChecksums.write(second.backupDir(), Optional.of(first.backupDir()), 2).hashed())
        .isEqualTo(2);

    // keep-snapshots 1: the first local snapshot went, the newest stays as the next parent.
    assertThat(s.localSnapshotTags()).containsExactly(second.tag());

    // A received copy is a read-only subvolume; deleting a backup (prune) still works.
    Trees.deleteRecursively(first.backupDir());
    assertThat(first.backupDir()).doesNotExist();
    assertThat(second.homeDir().resolve("shared/data/repositories/1/objects/pack/p1.pack")).hasSize(200_000);
  }

  @Test
  void aParentMissingOnTheReceivingSideFallsBackToAFullSend() throws Exception {
    writeHome("shared/a", "1");
    BtrfsDiskStrategy s = strategy("send", root);
    BackupContext first = context(root, "i-20261130-080000", Optional.empty(), UndoLog.NONE);
    backup(s, first);
    // The previous backup was copied elsewhere meanwhile and its received copy replaced by a plain directory.
    Trees.deleteRecursively(first.homeDir());
    Files.createDirectories(first.homeDir());
    writeHome("shared/b", "2");
    BackupContext second = context(root, "i-20261130-090000", Optional.of(first.backupDir()), UndoLog.NONE);
    CopyResult r = backup(s, second);
    assertThat(r.details()).doesNotContainKey("parent");
    assertThat(second.homeDir().resolve("shared/b")).hasContent("2");
  }

  /**
   * Issue #16 on the rsync transfer, which hard-links against the previous backup like the rsync strategy: a byte
   * flipped in the previous copy, its modification time put back, is copied afresh from the snapshot, not linked.
   */
  @Test
  void rsyncTransferCopiesAfreshAFileDamagedInThePreviousBackup() throws Exception {
    Path plainRoot = dir.resolve("plain-backups");
    String rel = "shared/data/repositories/1/objects/pack/p1.pack";
    writeHome(rel, "x".repeat(10_000));
    BtrfsDiskStrategy s = strategy("rsync", plainRoot);
    BackupContext first = context(plainRoot, "i-20261130-080000", Optional.empty(), UndoLog.NONE);
    backup(s, first);
    HomeChecksums.write(first.backupDir(), Optional.empty(), 2);
    Path damaged = first.homeDir().resolve(rel);
    flipAByteKeepingTheTime(damaged);

    try (PreviousHome check = PreviousHome.start(Optional.of(first.backupDir()), 2)) {
      BackupContext second =
          new BackupContext("i-20261130-090000", plainRoot.resolve("i-20261130-090000"), Optional.of(first.backupDir()), Progress.NONE, UndoLog.NONE, check);
      backup(s, second);
      Path copy = second.homeDir().resolve(rel);
      assertThat(Digests.sha256(copy)).as("the snapshot's bytes").isEqualTo(Digests.sha256(home.resolve(rel)));
      assertThat(Files.getAttribute(copy, "unix:nlink")).as("not linked to the damaged copy").isEqualTo(1);
      HomeChecksums.write(second.backupDir(), check, 2);
      assertThat(HomeChecksums.verify(second.backupDir(), 2).ok()).isTrue();
      assertThat(HomeChecksums.verify(first.backupDir(), 2).mismatched()).containsExactly(rel);
    }
  }

  /**
   * A received copy is read-only, but not beyond reach: btrfs-progs before 5.14 flipped it writable and kept its
   * received UUID (the kernel's SUBVOL_SETFLAGS ioctl still does), so an edited copy could still be found as the
   * parent of the next incremental receive, which starts as a snapshot of it. The check finds the edit (the change
   * time moved), and the whole snapshot is sent instead.
   */
  @Test
  void aReceivedCopyEditedThroughTheSetflagsIoctlIsNotTheParentOfTheNextReceive() throws Exception {
    String rel = "shared/data/repositories/1/objects/pack/p1.pack";
    writeHome(rel, "x".repeat(10_000));
    writeHome("shared/a", "1");
    BtrfsDiskStrategy s = strategy("send", root);
    BackupContext first = context(root, "i-20261130-080000", Optional.empty(), UndoLog.NONE);
    backup(s, first);
    HomeChecksums.write(first.backupDir(), Optional.empty(), 2);
    setReadOnly(first.homeDir(), false);
    flipAByteKeepingTheTime(first.homeDir().resolve(rel));
    setReadOnly(first.homeDir(), true);
    writeHome("shared/b", "2");

    try (PreviousHome check = PreviousHome.start(Optional.of(first.backupDir()), 2)) {
      BackupContext second =
          new BackupContext("i-20261130-090000", root.resolve("i-20261130-090000"), Optional.of(first.backupDir()), Progress.NONE, UndoLog.NONE, check);
      CopyResult r = backup(s, second);
      assertThat(r.details()).as("a full send").doesNotContainKey("parent");
      assertThat(Digests.sha256(second.homeDir().resolve(rel))).as("the snapshot's bytes").isEqualTo(Digests.sha256(home.resolve(rel)));
      assertThat(second.homeDir().resolve("shared/b")).hasContent("2");
      HomeChecksums.write(second.backupDir(), check, 2);
      assertThat(HomeChecksums.verify(second.backupDir(), 2).ok()).isTrue();
      assertThat(HomeChecksums.verify(first.backupDir(), 2).mismatched()).containsExactly(rel);
    }
  }

  /** BTRFS_IOC_SUBVOL_SETFLAGS, as btrfs-progs before 5.14 called it: the received UUID stays. */
  private static void setReadOnly(Path subvolume, boolean readOnly) {
    LibC c = com.sun.jna.Native.load("c", LibC.class);
    int fd = c.open(subvolume.toString(), 0);
    assertThat(fd).as("open " + subvolume).isNotNegative();
    try {
      com.sun.jna.ptr.LongByReference flags = new com.sun.jna.ptr.LongByReference(readOnly ? 2 : 0); // BTRFS_SUBVOL_RDONLY
      assertThat(c.ioctl(fd, 0x4008941AL, flags.getPointer())).as("SUBVOL_SETFLAGS on " + subvolume).isZero();
    } finally {
      c.close(fd);
    }
  }

  /** The C library calls {@link #setReadOnly} makes. */
  public interface LibC extends com.sun.jna.Library {
    int open(String path, int flags);

    int ioctl(int fd, long request, com.sun.jna.Pointer argument);

    int close(int fd);
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
  void rsyncTransferToAnyFilesystemHardLinksAgainstThePreviousBackup() throws Exception {
    Path plainRoot = dir.resolve("plain-backups"); // on the test directory's filesystem, not btrfs
    writeHome("shared/data/repositories/1/objects/pack/p1.pack", "x".repeat(10_000));
    writeHome("caches/big", "disposable");
    BtrfsDiskStrategy s = strategy("auto", plainRoot);
    assertThat(s.transfer()).isEqualTo(BtrfsDiskStrategy.Transfer.RSYNC);
    BackupContext first = context(plainRoot, "i-20261130-080000", Optional.empty(), UndoLog.NONE);
    backup(s, first);
    writeHome("shared/new", "n");
    BackupContext second = context(plainRoot, "i-20261130-090000", Optional.of(first.backupDir()), UndoLog.NONE);
    CopyResult r = backup(s, second);
    assertThat(r.details()).containsEntry("transfer", "rsync");
    Path pack = "shared/data/repositories/1/objects/pack/p1.pack".transform(second.homeDir()::resolve);
    assertThat(Files.getAttribute(pack, "unix:nlink")).isEqualTo(2);
    assertThat(second.homeDir().resolve("caches/big")).doesNotExist();
    assertThat(second.homeDir().resolve("shared/new")).hasContent("n");
  }

  @Test
  void restoresBySnapshotOnTheSameFilesystemAndByRsyncIntoANewSubvolumeElsewhere() throws Exception {
    writeHome("shared/data/repositories/1/HEAD", "ref: refs/heads/main\n");
    BtrfsDiskStrategy s = strategy("send", root);
    BackupContext b = context(root, "i-20261130-080000", Optional.empty(), UndoLog.NONE);
    backup(s, b);

    Path sameFs = target.mountPoint().resolve("restored");
    RestoreContext r1 = new RestoreContext(b.tag(), b.backupDir(), sameFs, false, Progress.NONE);
    s.prepareRestore(r1);
    s.restore(r1);
    assertThat(sameFs.resolve("shared/data/repositories/1/HEAD")).hasContent("ref: refs/heads/main");
    Files.writeString(sameFs.resolve("writable"), "yes"); // a writable snapshot, not the read-only copy
    assertThat(runner.runAllowingFailure(BtrfsCommands.show(sameFs), l -> {}).exitCode()).isZero();

    Path otherFs = source.mountPoint().resolve("restored");
    RestoreContext r2 = new RestoreContext(b.tag(), b.backupDir(), otherFs, false, Progress.NONE);
    s.restore(r2);
    assertThat(otherFs.resolve("shared/data/repositories/1/HEAD")).hasContent("ref: refs/heads/main");
    assertThat(runner.runAllowingFailure(BtrfsCommands.show(otherFs), l -> {}).exitCode())
        .as("restored into a subvolume, so it can be snapshotted again")
        .isZero();
  }

  @Test
  void cleanupOfAnIncompleteBackupRemovesTheSnapshotAndTheReceivedCopy() throws Exception {
    writeHome("shared/a", "1");
    BtrfsDiskStrategy s = strategy("send", root);
    BackupContext b = context(root, "i-20261130-080000", Optional.empty(), UndoLog.NONE);
    backup(s, b);
    s.cleanupIncomplete(b);
    assertThat(s.snapshotOf(b.tag())).doesNotExist();
    assertThat(s.snapshotOf(b.tag()).getParent()).doesNotExist();
    assertThat(b.homeDir()).doesNotExist();
    s.cleanupIncomplete(b); // idempotent
  }

  @Test
  void preflightNamesTheKeyToFix() throws Exception {
    Path plain = source.mountPoint().resolve("plain-home");
    Files.createDirectories(plain);
    Findings notSubvolume = new Findings();
    new BtrfsDiskStrategy(new dev.snapstash.strategy.disk.btrfs.BtrfsSettings("", "auto", 1), plain, root, true, runner).check(notSubvolume);
    assertThat(notSubvolume.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("not a btrfs subvolume"));

    Findings elsewhere = new Findings();
    new BtrfsDiskStrategy(new dev.snapstash.strategy.disk.btrfs.BtrfsSettings(target.mountPoint().resolve("snaps").toString(), "auto", 1), home, root, true, runner)
        .check(elsewhere);
    assertThat(elsewhere.problems()).singleElement().satisfies(p -> {
      assertThat(p.subject()).isEqualTo("disk.btrfs.snapshot-directory");
      assertThat(p.message()).contains("not on the home's btrfs filesystem");
    });

    runner.run(Command.of("btrfs", "subvolume", "create", home.resolve("caches").toString()).discardingStdout());
    Findings disposable = new Findings();
    strategy("auto", root).check(disposable);
    assertThat(disposable.problems()).as("a disposable directory may be a subvolume: it stays out of snapshots").isEmpty();
    runner.run(Command.of("mkdir", "-p", home.resolve("shared/data").toString()));
    runner.run(Command.of("btrfs", "subvolume", "create", home.resolve("shared/data/nested").toString()).discardingStdout());
    Findings nested = new Findings();
    strategy("auto", root).check(nested);
    assertThat(nested.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("would not include: shared/data/nested;"));
    runner.run(Command.of("btrfs", "subvolume", "delete", home.resolve("shared/data/nested").toString()).discardingStdout());

    Findings sendToPlain = new Findings();
    strategy("send", dir.resolve("plain")).check(sendToPlain);
    assertThat(sendToPlain.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("not on btrfs"));
  }

  /**
   * A PostgreSQL data directory inside the home is captured crash-consistently by the snapshot while it takes
   * writes: the restored copy starts, recovers from its WAL, and holds every transaction committed before the
   * snapshot began.
   */
  @Test
  void aCollocatedPostgresqlIsCapturedCrashConsistently() throws Exception {
    Path data = home.resolve("pgdata");
    PostgresServer pg = PostgresServer.start(data, 0, runner, true);
    closeLast.add(0, pg::stop);
    pg.createDatabase("ledger", "ledger", "pw");
    try (Connection c = DriverManager.getConnection(pg.jdbcUrl("ledger"), "ledger", "pw");
        Statement st = c.createStatement()) {
      st.execute("CREATE TABLE t (id bigint PRIMARY KEY, payload text)");
    }
    AtomicLong committed = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    Thread writer =
        new Thread(
            () -> {
              try (Connection c = DriverManager.getConnection(pg.jdbcUrl("ledger"), "ledger", "pw");
                  var ins = c.prepareStatement("INSERT INTO t VALUES (?, repeat('x', 500))")) {
                for (long i = 1; !stop.get(); i++) {
                  ins.setLong(1, i);
                  ins.executeUpdate(); // autocommit: each row is its own committed transaction
                  committed.set(i);
                }
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    writer.start();
    try {
      while (committed.get() < 500) {
        Thread.sleep(20);
      }
      BtrfsDiskStrategy s = strategy("send", root);
      BackupContext b = context(root, "i-20261130-080000", Optional.empty(), UndoLog.NONE);
      long before = committed.get();
      CopyResult underLock = s.backup(b);
      Thread.sleep(200); // writes go on after the snapshot; they must not matter
      stop.set(true);
      writer.join();
      s.afterUnlock(b, underLock);
      pg.stop();

      Path restored = target.mountPoint().resolve("restored");
      s.restore(new RestoreContext(b.tag(), b.backupDir(), restored, false, Progress.NONE));
      Files.deleteIfExists(restored.resolve("pgdata/postmaster.pid")); // as after a power cut
      PostgresServer copy = PostgresServer.start(restored.resolve("pgdata"), 0, runner, true);
      closeLast.add(0, copy::stop);
      try (Connection c = DriverManager.getConnection(copy.jdbcUrl("ledger"), "ledger", "pw");
          Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*), max(id) FROM t")) {
        rs.next();
        long rows = rs.getLong(1);
        assertThat(rows).as("every transaction committed before the snapshot").isGreaterThanOrEqualTo(before);
        assertThat(rs.getLong(2)).as("no gaps: the copy is one instant").isEqualTo(rows);
        assertThat(rows).isLessThanOrEqualTo(committed.get());
      }
    } finally {
      stop.set(true);
      writer.join();
    }
  }

  private static UndoLog recording(List<Undo> journal) {
    return new UndoLog() {
      @Override
      public void add(Undo undo) {
        journal.add(undo);
      }

      @Override
      public void done(Undo undo) {
        journal.remove(undo);
      }
    };
  }

  /**
   * REVIEW: two instances whose homes share a parent directory (a Bitbucket home and a Mesh node's home side by
   * side) share the default snapshot directory (the home's sibling .snapstash-snapshots). pruneSnapshots lists every
   * tag there, not only this instance's, so one instance's backup deletes the other's snapshot, here the one the
   * other backup took under its lock and has not sent yet.
   */
  @Test
  void pruningSnapshotsLeavesAnotherInstancesSnapshotAlone() throws Exception {
    writeHome("shared/data/repositories/1/HEAD", "ref: refs/heads/master\n");
    Path mesh = source.mountPoint().resolve("mesh-home");
    runner.run(Command.of("btrfs", "subvolume", "create", mesh.toString()).discardingStdout());
    Files.writeString(mesh.resolve("mesh.txt"), "mesh data");
    Path meshRoot = target.mountPoint().resolve("mesh-backups");
    Files.createDirectories(meshRoot);
    BtrfsDiskStrategy meshStrategy =
        new BtrfsDiskStrategy(new dev.snapstash.strategy.disk.btrfs.BtrfsSettings("", "send", 1), mesh, meshRoot, true, runner);
    BtrfsDiskStrategy bitbucket = strategy("send", root);
    assertThat(meshStrategy.snapshotDirectory()).isEqualTo(bitbucket.snapshotDirectory());

    // The mesh backup took its snapshot under its lock; its send comes after its unlock.
    BackupContext meshCtx = context(meshRoot, "mesh-20261130-080000", Optional.empty(), UndoLog.NONE);
    meshStrategy.prepareBackup(meshCtx);
    CopyResult meshUnderLock = meshStrategy.backup(meshCtx);
    Path meshSnapshot = meshStrategy.snapshotOf(meshCtx.tag());
    assertThat(meshSnapshot).isDirectory();

    // Meanwhile the Bitbucket instance's own backup completes, and prunes "its" old snapshots.
    backup(bitbucket, context(root, "bitbucket-20261130-080500", Optional.empty(), UndoLog.NONE));

    assertThat(meshSnapshot).as("another instance's snapshot must not be pruned").isDirectory();
    meshStrategy.afterUnlock(meshCtx, meshUnderLock);
    assertThat(meshCtx.homeDir().resolve("mesh.txt")).hasContent("mesh data");
  }
}
