package dev.snapstash.strategy.disk.zfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The zfs strategy's calls, as {@link FakeZfs} records them, and its failures: what it runs under the lock, what
 * it journals first, what it destroys, and the key each bad setting is reported with. Untested on a real pool.
 */
class ZfsDiskStrategyTest {
  private static final String TAG = "prod-20261207-220000";
  private static final String SNAPSHOT = "tank/bb@snapstash-" + TAG;

  @TempDir Path tmp;
  private final ProcessRunner runner = new ProcessRunner();
  private FakeZfs zfs;
  private Path pool;
  private Path home;
  private Path root;

  @BeforeEach
  void pool() throws IOException {
    pool = Files.createDirectories(tmp.resolve("pool"));
    home = Files.createDirectories(pool.resolve("home"));
    root = Files.createDirectories(tmp.resolve("backups"));
    zfs = FakeZfs.in(tmp.resolve("fake-zfs")).dataset("tank/bb", pool);
    write(home, "shared/bitbucket.properties", "setup.displayName=zfs\n");
    write(home, "shared/data/repositories/1/HEAD", "ref: refs/heads/main\n");
    write(home, "caches/disposable", "not backed up");
  }

  private ZfsDiskStrategy strategy(int keep) {
    return strategy("tank/bb", zfs.binary().toString(), keep);
  }

  private ZfsDiskStrategy strategy(String dataset, String binary, int keep) {
    return new ZfsDiskStrategy(new ZfsSettings(dataset, binary, "snapstash-", keep), home, true, runner);
  }

  private BackupContext context(String tag, UndoLog undo) {
    return new BackupContext(tag, root.resolve(tag), Optional.empty(), Progress.NONE, undo);
  }

  /** Under the lock one call and one only, journaled before it runs; nothing else of zfs's but reads. */
  @Test
  void aBackupTakesOneSnapshotUnderTheLockJournaledBeforeTheCall() throws Exception {
    List<String> callsWhenJournaled = new ArrayList<>();
    Recording undo = new Recording(() -> {
      try {
        callsWhenJournaled.addAll(zfs.callLines());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    BackupContext ctx = context(TAG, undo);
    ZfsDiskStrategy s = strategy(1);
    try (DiskStrategy.Run run = s.begin(root)) {
      run.prepareBackup(ctx);
      assertThat(zfs.callLines()).containsExactly("get -H -p -o value mountpoint tank/bb");
      zfs.forgetCalls();

      CopyResult underLock = run.backup(ctx);
      assertThat(zfs.calls()).as("the lock window's only zfs call").containsExactly(List.of("snapshot", SNAPSHOT));
      assertThat(callsWhenJournaled).as("journaled before the snapshot call").isEmpty();
      assertThat(undo.added).containsExactly(new DestroySnapshot(zfs.binary().toString(), SNAPSHOT));
      assertThat(underLock.details()).containsEntry("snapshot", SNAPSHOT);
      zfs.forgetCalls();

      CopyResult done = run.afterUnlock(ctx, underLock);
      assertThat(zfs.callLines()).containsExactly("list -H -p -t snapshot -o name,creation -s creation -d 1 tank/bb");
      assertThat(done.files()).isEqualTo(2);
    }
    assertThat(files(ctx.homeDir())).isEqualTo(files(home)).doesNotContainKey("caches/disposable");
    assertThat(pool.resolve(".zfs/snapshot/snapstash-" + TAG)).as("the newest snapshot is kept").isDirectory();
  }

  @Test
  void oldSnapshotsOfThisInstanceAreDestroyedAndNoOtherSnapshotIsTouched() throws Exception {
    for (String other : List.of("daily-2026-12-01", "snapstash-prod-20261201-000000", "snapstash-prod-20261202-000000",
        "snapstash-prod-eu-20261201-000000", "snapstash-other-20261201-000000", "prod-20261201-000000")) {
      Files.createDirectories(pool.resolve(".zfs/snapshot").resolve(other));
    }
    backUp(strategy(2), TAG);
    assertThat(zfs.calls().stream().filter(c -> c.get(0).equals("destroy")).toList())
        .containsExactly(List.of("destroy", "tank/bb@snapstash-prod-20261201-000000"));
    assertThat(snapshots()).containsExactlyInAnyOrder(
        "daily-2026-12-01", "snapstash-prod-20261202-000000", "snapstash-prod-eu-20261201-000000",
        "snapstash-other-20261201-000000", "prod-20261201-000000", "snapstash-" + TAG);

    zfs.forgetCalls();
    backUp(strategy(0), "prod-20261208-220000");
    assertThat(zfs.callLines().stream().filter(c -> c.startsWith("destroy")).toList())
        .as("keep-snapshots 0: this run's own snapshot goes too, once copied")
        .containsExactlyInAnyOrder(
            "destroy tank/bb@snapstash-prod-20261208-220000", "destroy tank/bb@snapstash-" + TAG,
            "destroy tank/bb@snapstash-prod-20261202-000000");
    assertThat(snapshots()).containsExactlyInAnyOrder(
        "daily-2026-12-01", "snapstash-prod-eu-20261201-000000", "snapstash-other-20261201-000000", "prod-20261201-000000");
  }

  @Test
  void aMissingZfsIsReportedWithItsKey() throws Exception {
    for (String binary : List.of(tmp.resolve("nowhere/zfs").toString(), "zfs-not-installed-here")) {
      ZfsDiskStrategy s = strategy("tank/bb", binary, 1);
      Findings f = new Findings();
      s.check(f);
      assertThat(f.problems()).singleElement().satisfies(p -> {
        assertThat(p.subject()).isEqualTo("disk.zfs.binary");
        assertThat(p.message()).startsWith("disk.zfs.binary '" + binary + "' cannot be started").contains("set disk.zfs.binary");
      });
      try (DiskStrategy.Run run = s.begin(root)) {
        assertThatThrownBy(() -> run.prepareBackup(context(TAG, UndoLog.NONE)))
            .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION))
            .hasMessageStartingWith("disk.zfs.binary '" + binary + "' cannot be started");
      }
    }
  }

  @Test
  void aMissingDatasetIsReportedWithItsKey() throws Exception {
    ZfsDiskStrategy s = strategy("tank/nope", zfs.binary().toString(), 1);
    Findings f = new Findings();
    s.check(f);
    assertThat(f.problems()).singleElement().satisfies(p -> {
      assertThat(p.subject()).isEqualTo("disk.zfs.dataset");
      assertThat(p.message()).startsWith("disk.zfs.dataset tank/nope does not exist").contains("set disk.zfs.dataset");
    });
    BackupContext ctx = context(TAG, UndoLog.NONE);
    try (DiskStrategy.Run run = s.begin(root)) {
      assertThatThrownBy(() -> run.prepareBackup(ctx))
          .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION))
          .hasMessageStartingWith("disk.zfs.dataset tank/nope does not exist");
      assertThatThrownBy(() -> run.backup(ctx)).hasMessageStartingWith("disk.zfs.dataset tank/nope does not exist");
      run.cleanupIncomplete(ctx);
    }
  }

  /** A snapshot that fails (a full pool): the failure says what zfs said, and the clean-up leaves nothing. */
  @Test
  void aFailingSnapshotIsUndoneAndLeavesNothing() throws Exception {
    zfs.failSnapshots();
    Recording undo = new Recording(() -> {});
    BackupContext ctx = context(TAG, undo);
    try (DiskStrategy.Run run = strategy(1).begin(root)) {
      run.prepareBackup(ctx);
      assertThatThrownBy(() -> run.backup(ctx))
          .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.EXTERNAL_COMMAND))
          .hasMessageContaining("zfs snapshot " + SNAPSHOT)
          .hasMessageContaining("out of space");
      run.cleanupIncomplete(ctx);
      run.cleanupIncomplete(ctx);
    }
    assertThat(undo.added).hasSize(1);
    assertThat(undo.done).containsExactly(undo.added.get(0), undo.added.get(0));
    assertThat(zfs.callLines()).noneMatch(c -> c.startsWith("destroy")).contains("list -H -o name -t snapshot " + SNAPSHOT);
    assertThat(snapshots()).isEmpty();
    assertThat(ctx.homeDir()).doesNotExist();
  }

  /** A run killed after its snapshot: the journal names it, and recover's replay destroys it, twice without harm. */
  @Test
  void theSnapshotOfAKilledRunIsDestroyedFromTheJournal() throws Exception {
    try (Journal journal = Journal.begin(root, "backup", TAG); DiskStrategy.Run run = strategy(1).begin(root)) {
      BackupContext ctx = context(TAG, journal);
      run.prepareBackup(ctx);
      run.backup(ctx);
    }
    assertThat(Files.readString(Journal.file(root))).contains("\"undo\":\"destroy-zfs-snapshot\"");
    List<Undo> pending = Journal.pending(Journal.read(root));
    assertThat(pending).containsExactly(new DestroySnapshot(zfs.binary().toString(), SNAPSHOT));
    assertThat(snapshots()).containsExactly("snapstash-" + TAG);
    Services services = Services.of(null, null, runner);
    pending.get(0).undo(services);
    assertThat(snapshots()).isEmpty();
    pending.get(0).undo(services);
    assertThat(zfs.callLines()).contains("destroy " + SNAPSHOT);
  }

  @Test
  void checkPassesOnAMountedDatasetHoldingTheHome() {
    Findings f = new Findings();
    strategy(1).check(f);
    assertThat(f.problems()).isEmpty();
    assertThat(f.all()).extracting(Findings.Finding::message).anyMatch(m -> m.contains("zfs-2.2.2-fake"));
  }

  @Test
  void checkRefusesWhatASnapshotOfTheDatasetWouldNotHold() throws Exception {
    ZfsDiskStrategy s = strategy(1);
    zfs.dataset("tank/bb/caches", home.resolve("caches"));
    Findings f = new Findings();
    s.check(f);
    assertThat(f.problems()).as("a disposable directory may be a file system of its own").isEmpty();

    zfs.dataset("tank/bb/repos", home.resolve("shared/data/repositories"));
    f = new Findings();
    s.check(f);
    assertThat(f.problems()).singleElement().satisfies(p -> {
      assertThat(p.subject()).isEqualTo("instance.home");
      assertThat(p.message()).contains("shared/data/repositories (tank/bb/repos)");
    });

    Findings elsewhere = new Findings();
    new ZfsDiskStrategy(new ZfsSettings("tank/bb", zfs.binary().toString(), "snapstash-", 1), tmp.resolve("elsewhere"), true, runner)
        .check(elsewhere);
    assertThat(elsewhere.problems()).singleElement().satisfies(p -> {
      assertThat(p.subject()).isEqualTo("instance.home");
      assertThat(p.message()).contains("is not on tank/bb, which is mounted at " + pool);
    });

    zfs.unmount();
    f = new Findings();
    s.check(f);
    assertThat(f.problems()).singleElement().satisfies(p -> {
      assertThat(p.subject()).isEqualTo("disk.zfs.dataset");
      assertThat(p.message()).contains("tank/bb is not mounted");
    });
  }

  /** The usual layout: the home is the dataset's mount point, and its copy starts at the snapshot's root. */
  @Test
  void aHomeThatIsTheMountPointIsCopiedFromTheSnapshotsRoot() throws Exception {
    home = pool;
    ZfsDiskStrategy s = strategy(0);
    BackupContext ctx = backUp(s, TAG);
    assertThat(files(ctx.homeDir())).isEqualTo(files(home)).containsKey("home/shared/bitbucket.properties");
    Path target = tmp.resolve("restored");
    RestoreContext restore = new RestoreContext(TAG, ctx.backupDir(), target, false, Progress.NONE);
    s.prepareRestore(restore);
    s.restore(restore);
    assertThat(files(target)).isEqualTo(files(home));
    assertThat(snapshots()).isEmpty();
  }

  private BackupContext backUp(ZfsDiskStrategy s, String tag) {
    BackupContext ctx = context(tag, UndoLog.NONE);
    try (DiskStrategy.Run run = s.begin(root)) {
      run.prepareBackup(ctx);
      run.afterUnlock(ctx, run.backup(ctx));
    }
    return ctx;
  }

  private List<String> snapshots() throws IOException {
    Path dir = pool.resolve(".zfs/snapshot");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** Regular files under {@code top} with their content, but for the fake's {@code .zfs} and the excluded caches. */
  private static SortedMap<String, String> files(Path top) throws IOException {
    SortedMap<String, String> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(top)) {
      for (Path p : s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
        String rel = top.relativize(p).toString();
        if (!rel.startsWith(".zfs/") && !rel.contains("caches/")) {
          out.put(rel, Files.readString(p) + " " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
        }
      }
    }
    return out;
  }

  private static void write(Path home, String relative, String content) throws IOException {
    Path file = home.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
  }

  /** An undo log that keeps what it was told, and runs {@code onAdd} at the moment a step is journaled. */
  private static final class Recording implements UndoLog {
    final List<Undo> added = new ArrayList<>();
    final List<Undo> done = new ArrayList<>();
    private final Runnable onAdd;

    Recording(Runnable onAdd) {
      this.onAdd = onAdd;
    }

    @Override
    public void add(Undo undo) {
      onAdd.run();
      added.add(undo);
    }

    @Override
    public void done(Undo undo) {
      done.add(undo);
    }
  }
}
