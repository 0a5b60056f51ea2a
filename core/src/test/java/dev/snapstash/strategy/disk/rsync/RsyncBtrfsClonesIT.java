package dev.snapstash.strategy.disk.rsync;

import static dev.snapstash.strategy.disk.rsync.TrackedDeltaTest.differences;
import static dev.snapstash.strategy.disk.rsync.TrackedDeltaTest.finish;
import static dev.snapstash.strategy.disk.rsync.TrackedDeltaTest.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.engine.HomeChecksums;
import dev.snapstash.core.home.HomeIndex;
import dev.snapstash.core.util.Json;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.Trees;
import dev.snapstash.testing.LoopFilesystem;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rsync strategy on a backup root on btrfs (a real btrfs filesystem on a loop device): each backup's home is a
 * subvolume, a snapshot of the previous one brought up to date by rsync. The new backup must equal the home, and
 * the previous backup must keep exactly what it held, whatever changed: contents, modes, extended attributes,
 * deleted and new repositories, excludes.
 */
class RsyncBtrfsClonesIT {
  @TempDir Path tmp;
  private ProcessRunner runner = new ProcessRunner();
  private LoopFilesystem fs;
  private Path home;
  private Path root;

  @BeforeEach
  void mount() throws Exception {
    fs = LoopFilesystem.create(tmp, "btrfs", 300);
    home = tmp.resolve("home");
    root = fs.mountPoint().resolve("backups");
    for (int r = 1; r <= 8; r++) {
      Path repo = home.resolve("shared/data/repositories/" + r);
      write(repo.resolve("objects/ab/c" + r), "object " + r);
      write(repo.resolve("refs/heads/main"), ("" + r).repeat(40) + "\n");
    }
    write(home.resolve("shared/bitbucket.properties"), "a=b\n");
    write(home.resolve("shared/data/attachments/1/a.png"), "png");
    write(home.resolve("caches/x"), "never copied");
  }

  @AfterEach
  void unmount() {
    if (fs != null) {
      fs.close();
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 3})
  void theNextBackupIsASnapshotBroughtUpToDateAndThePreviousOneKeepsWhatItHeld(int parallel) throws Exception {
    BackupContext first = backup("1", Optional.empty(), List.of(), parallel);
    assertThat(Trees.mayBeSubvolume(first.homeDir())).as("the first home is a subvolume").isTrue();
    Path reference = tmp.resolve("as-at-first");
    runner.run(Command.of("cp", "-a", first.homeDir().toString(), reference.toString()));

    Path properties = home.resolve("shared/bitbucket.properties");
    Files.setPosixFilePermissions(properties, PosixFilePermissions.fromString("rw-------"));
    Files.getFileAttributeView(home.resolve("shared/data/attachments/1/a.png"), UserDefinedFileAttributeView.class)
        .write("user.snapstash", ByteBuffer.wrap("x".getBytes()));
    Files.writeString(home.resolve("shared/data/repositories/2/refs/heads/main"), "x".repeat(40) + "\n");
    Trees.deleteRecursively(home.resolve("shared/data/repositories/3"));
    write(home.resolve("shared/data/repositories/9/refs/heads/main"), "9".repeat(40) + "\n");
    Files.delete(home.resolve("shared/data/repositories/4/objects/ab/c4"));

    BackupContext second = backup("2", Optional.of(first.backupDir()), List.of(), parallel);
    assertThat(started(second)).isEqualTo("a btrfs snapshot of the previous backup's home");
    assertThat(differences(home, second.homeDir())).isEmpty();
    assertThat(differences(reference, first.homeDir())).as("the previous backup is untouched").isEmpty();
    assertThat(second.homeDir().resolve("shared/data/repositories/3")).doesNotExist();
    assertThat(second.homeDir().resolve("caches")).doesNotExist();

    // Only what changed is read again or counted as new space.
    HomeChecksums.Summary sums = checksums.get(second.tag());
    assertThat(sums.hashed()).as("the new mode, the new attribute, the rewritten ref and the new ref").isEqualTo(4);
    assertThat(sums.unsharedBytes()).isEqualTo(4 + 41 + 41 + 3);
    assertThat(HomeChecksums.verify(second.backupDir(), 2).ok()).isTrue();

    // Either backup can go without the other.
    Trees.deleteRecursively(first.backupDir());
    assertThat(differences(home, second.homeDir())).isEmpty();
  }

  @Test
  void otherExcludesMakeAFreshSubvolumeSoThatNewlyExcludedFilesDoNotLinger() throws Exception {
    BackupContext first = backup("1", Optional.empty(), List.of(), 1);
    BackupContext second = backup("2", Optional.of(first.backupDir()), List.of("/shared/data/attachments/"), 1);
    assertThat(started(second)).contains("other excludes");
    assertThat(Trees.mayBeSubvolume(second.homeDir())).isTrue();
    assertThat(second.homeDir().resolve("shared/data/attachments")).doesNotExist();
    assertThat(first.homeDir().resolve("shared/data/attachments/1/a.png")).exists();
  }

  @Test
  void aPreviousHomeThatIsNotASubvolumeIsCopiedInFullNotLinkedAcrossSubvolumes() throws Exception {
    RsyncRun plain = new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, runner).beginWithoutEarlyWalk();
    BackupContext first = new BackupContext("1", root.resolve("1"), Optional.empty(), Progress.NONE);
    plain.prepareBackup(first);
    record(first, finish(plain, first));
    assertThat(Trees.mayBeSubvolume(first.homeDir())).isFalse();

    BackupContext second = backup("2", Optional.of(first.backupDir()), List.of(), 1);
    assertThat(started(second)).contains("is not one");
    assertThat(differences(home, second.homeDir())).isEmpty();
  }

  @Test
  void offBtrfsTheHomeIsHardLinkedAsBefore() throws Exception {
    BackupContext first = new BackupContext("1", tmp.resolve("ext/1"), Optional.empty(), Progress.NONE);
    RsyncRun one = strategy(List.of(), 1);
    one.prepareBackup(first);
    record(first, finish(one, first));
    BackupContext second = new BackupContext("2", tmp.resolve("ext/2"), Optional.of(first.backupDir()), Progress.NONE);
    RsyncRun two = strategy(List.of(), 1);
    two.prepareBackup(second);
    assertThat(finish(two, second).details().get("start")).isEqualTo("hard links to the previous backup");
    assertThat(Files.getAttribute(second.homeDir().resolve("shared/bitbucket.properties"), "unix:nlink")).isEqualTo(2);
  }

  /**
   * With the previous backup's index, the pre-copy visits only the directories that changed since, and every kind
   * of change still reaches the new backup: a ref rewritten with the same size and modification time, a mode, an
   * extended attribute, renames, type changes, links, deletions.
   */
  @Test
  void theIndexLetsThePreCopyVisitOnlyWhatChangedAndMissesNothing() throws Exception {
    TrackedDeltaTest.homeForEveryKindOfChange(home);
    settle();
    BackupContext first = backup("1", Optional.empty(), List.of(), 1);
    assertThat(first.backupDir().resolve(HomeIndex.FILE)).exists();
    Path reference = tmp.resolve("as-at-first");
    runner.run(Command.of("cp", "-a", first.homeDir().toString(), reference.toString()));

    TrackedDeltaTest.everyKindOfChange(home);
    Files.createLink(home.resolve("shared/data/attachments/1/hard"), home.resolve("shared/data/repositories/5/objects/ab/c5"));
    Trees.deleteRecursively(home.resolve("shared/data/repositories/3"));

    BackupContext second = backup("2", Optional.of(first.backupDir()), List.of(), 1);
    String preCopy = details.get("2").get("pre-copy");
    assertThat(preCopy).matches("\\d+ of \\d+ directories differ from the previous backup's index");
    String[] counts = preCopy.split(" ");
    int differ = Integer.parseInt(counts[0]);
    int all = Integer.parseInt(counts[2]);
    // The directories the changes touched and their parents; not the untouched repositories' dozens.
    assertThat(differ).as(preCopy).isPositive().isLessThan(all / 2);
    assertThat(differences(home, second.homeDir())).isEmpty();
    assertThat(differences(reference, first.homeDir())).as("the previous backup is untouched").isEmpty();

    // The checksums skip the files of directories both indexes vouch for, and come out the same as in full.
    HomeChecksums.Summary sums = checksums.get("2");
    // The objects and refs of the six untouched repositories, and the attachment, are not even looked at.
    assertThat(sums.vouched()).as("files not even looked at").isGreaterThanOrEqualTo(10);
    String reused = Files.readString(second.backupDir().resolve(HomeChecksums.FILE));
    Files.delete(second.backupDir().resolve(HomeIndex.FILE));
    HomeChecksums.Summary full = HomeChecksums.write(second.backupDir(), Optional.of(first.backupDir()), 2);
    assertThat(Files.readString(second.backupDir().resolve(HomeChecksums.FILE))).isEqualTo(reused);
    assertThat(sums.files()).isEqualTo(full.files());
    assertThat(sums.bytes()).isEqualTo(full.bytes());
    assertThat(sums.unsharedBytes()).isEqualTo(full.unsharedBytes());
    assertThat(HomeChecksums.verify(second.backupDir(), 2).ok()).isTrue();
  }

  /** Random changes between backups, a chain of three: each backup equals the home it was taken of. */
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void randomChangesBetweenBackupsReachEveryBackupOfAChain(long seed) throws Exception {
    java.util.Random random = new java.util.Random(seed);
    for (int i = 0; i < 60; i++) {
      TrackedDeltaTest.change(home, random);
    }
    settle();
    Optional<Path> previous = Optional.empty();
    for (int b = 1; b <= 3; b++) {
      BackupContext ctx = backup("" + b, previous, List.of(), 1);
      assertThat(differences(home, ctx.homeDir(), "-naAXi")).as("seed %d, backup %d", seed, b).isEmpty();
      assertThat(HomeChecksums.verify(ctx.backupDir(), 2).ok()).as("seed %d, backup %d", seed, b).isTrue();
      assertThat(checksums.get("" + b).files()).isEqualTo(regularFiles(ctx.homeDir()));
      if (b > 1) {
        assertThat(details.get("" + b).get("pre-copy")).contains("differ from the previous backup's index");
      }
      previous = Optional.of(ctx.backupDir());
      for (int i = 0; i < 40; i++) {
        TrackedDeltaTest.change(home, random);
      }
    }
  }

  /**
   * A pass of the pre-copy that rsync could not finish (exit 23; under push load, most often a directory of the list
   * removed while rsync read it, as git gc does after a push) is run once more, live, rather than giving up the
   * tracked delta: that made the lock walk the whole home, and left no index for the next backup either. A pass
   * that fails again (a directory that cannot be read) still gives the tracked delta up, and the copy is right
   * either way.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void aPreCopyPassThatCouldNotFinishIsRunAgainAndTrackingGoesOn(int failures) throws Exception {
    BackupContext first = backup("1", Optional.empty(), List.of(), 1);
    settle();
    Files.writeString(home.resolve("shared/data/repositories/2/refs/heads/main"), "x".repeat(40) + "\n");
    Trees.deleteRecursively(home.resolve("shared/data/repositories/3"));
    java.util.concurrent.atomic.AtomicInteger passes = new java.util.concurrent.atomic.AtomicInteger();
    runner = new ProcessRunner() {
      @Override
      public dev.snapstash.core.process.ProcessResult run(Command command, java.util.function.Consumer<String> lines) {
        dev.snapstash.core.process.ProcessResult real = super.run(command, lines);
        boolean directoriesPass = command.argv().stream().anyMatch(a -> a.endsWith("/directories.list"));
        if (directoriesPass && passes.getAndIncrement() < failures) {
          // What rsync reports when a directory it was reading went away.
          return new dev.snapstash.core.process.ProcessResult(
              23, real.stdout(), "rsync error: some files/attrs were not transferred (code 23)", real.elapsed());
        }
        return real;
      }
    };

    BackupContext second = backup("2", Optional.of(first.backupDir()), List.of(), 1);
    assertThat(passes.get()).as("the pre-copy's pass of changed directories, run again").isGreaterThanOrEqualTo(2);
    if (failures == 1) {
      assertThat(details.get("2").get("delta")).startsWith("tracked");
      assertThat(second.backupDir().resolve(HomeIndex.FILE)).exists();
    } else {
      assertThat(details.get("2").get("delta")).startsWith("whole home: the pre-copy could not copy everything");
    }
    assertThat(differences(home, second.homeDir())).isEmpty();
    assertThat(second.homeDir().resolve("shared/data/repositories/3")).doesNotExist();
  }

  /** A damaged index is not trusted at all: the pre-copy compares the whole home, the checksums read every file. */
  @Test
  void aDamagedIndexMeansTheWholeHomeIsComparedAndChecksummed() throws Exception {
    settle();
    BackupContext first = backup("1", Optional.empty(), List.of(), 1);
    Path index = first.backupDir().resolve(HomeIndex.FILE);
    List<String> lines = new java.util.ArrayList<>(Files.readAllLines(index));
    lines.set(lines.size() / 2, lines.get(lines.size() / 2).substring(0, 30));
    Files.write(index, lines);
    Files.writeString(home.resolve("shared/data/repositories/2/refs/heads/main"), "z".repeat(40) + "\n");

    BackupContext second = backup("2", Optional.of(first.backupDir()), List.of(), 1);
    assertThat(details.get("2").get("pre-copy")).isEqualTo("the whole home");
    assertThat(differences(home, second.homeDir())).isEmpty();
    assertThat(checksums.get("2").vouched()).isZero();
    assertThat(HomeChecksums.verify(second.backupDir(), 2).ok()).isTrue();
  }

  /** A directory that changes while a backup runs is left out of its index, so the next backup copies it. */
  @Test
  void aDirectoryChangedDuringTheBackupIsLeftOutOfItsIndex() throws Exception {
    settle();
    BackupContext ctx = new BackupContext("1", root.resolve("1"), Optional.empty(), Progress.NONE);
    RsyncRun rsync = strategy(List.of(), 1);
    rsync.prepareBackup(ctx);
    write(home.resolve("shared/data/repositories/4/refs/heads/new"), "n".repeat(40) + "\n");
    record(ctx, finish(rsync, ctx));
    java.util.Map<String, HomeIndex.Dir> index = HomeIndex.read(ctx.backupDir(), String.join(" ", rsyncStrategy(List.of(), 1).excludes())).orElseThrow();
    assertThat(index.get("shared/data/repositories/4/refs/heads").known()).isFalse();
    for (String vouched : List.of("shared/data/repositories/5/refs/heads", "shared", "")) {
      assertThat(index.get(vouched).known()).as(vouched).isTrue();
    }
  }

  /**
   * A directory changed just before the walk may change again within the same tick of the kernel's clock, with the
   * same change time: its digest cannot vouch for it, and it stays out of the index.
   */
  @Test
  void aDirectoryChangedJustBeforeTheWalkIsLeftOutOfTheIndex() throws Exception {
    settle();
    write(home.resolve("shared/data/repositories/6/refs/heads/fresh"), "f".repeat(40) + "\n");
    BackupContext ctx = backup("1", Optional.empty(), List.of(), 1);
    java.util.Map<String, HomeIndex.Dir> index = HomeIndex.read(ctx.backupDir(), String.join(" ", rsyncStrategy(List.of(), 1).excludes())).orElseThrow();
    assertThat(index.get("shared/data/repositories/6/refs/heads").known()).isFalse();
    assertThat(index.get("shared/data/repositories/7/refs/heads").known()).isTrue();
  }

  /**
   * A directory renamed away while a backup runs (after the walk) keeps its subdirectories' digests in that backup's
   * index under the old path, though the copy no longer has them there. Renamed back before the next backup, those
   * subdirectories match the index, and the pre-copy never fills them in.
   */
  @Test
  void aDirectoryRenamedAwayDuringABackupAndBackAfterwardsIsCopiedWhole() throws Exception {
    write(home.resolve("shared/p/x/y/f"), "content of f");
    Files.createDirectories(home.resolve("shared/q"));
    settle();
    BackupContext first = backup("1", Optional.empty(), List.of(), 1);

    BackupContext ctx = new BackupContext("2", root.resolve("2"), Optional.of(first.backupDir()), Progress.NONE);
    RsyncRun rsync = strategy(List.of(), 1);
    rsync.prepareBackup(ctx);
    Files.move(home.resolve("shared/p/x"), home.resolve("shared/q/x"));
    CopyResult result = finish(rsync, ctx);
    record(ctx, result);
    checksums.put("2", HomeChecksums.write(ctx.backupDir(), Optional.of(first.backupDir()), 2));
    assertThat(differences(home, ctx.homeDir())).isEmpty();

    Files.move(home.resolve("shared/q/x"), home.resolve("shared/p/x"));
    settle();
    BackupContext third = backup("3", Optional.of(ctx.backupDir()), List.of(), 1);
    assertThat(differences(home, third.homeDir())).isEmpty();
  }

  /**
   * A file pattern excluded from the second backup on: its home is a fresh subvolume without the file, but the
   * directory's digest and file count are the same in both indexes, so the checksums vouch for the file anyway.
   */
  @Test
  void aNewlyExcludedFileIsNotListedInTheChecksums() throws Exception {
    write(home.resolve("shared/d/a.txt"), "kept");
    write(home.resolve("shared/d/b.bak"), "excluded from the second backup on");
    settle();
    BackupContext first = backup("1", Optional.empty(), List.of(), 1);
    BackupContext second = backup("2", Optional.of(first.backupDir()), List.of("*.bak"), 1);
    assertThat(second.homeDir().resolve("shared/d/b.bak")).doesNotExist();
    assertThat(HomeChecksums.verify(second.backupDir(), 2).missing()).isEmpty();
  }

  /**
   * An exclude without a trailing slash that names a directory: rsync leaves the directory out, but the tracker's
   * walk (which only skips patterns ending in a slash) indexes it, and the checksums of the next backup go looking
   * for it in the copy.
   */
  @Test
  void aDirectoryExcludedWithoutATrailingSlashDoesNotBreakTheNextBackupsChecksums() throws Exception {
    write(home.resolve("shared/big/f"), "never copied");
    settle();
    BackupContext first = backup("1", Optional.empty(), List.of("/shared/big"), 1);
    assertThat(first.homeDir().resolve("shared/big")).doesNotExist();
    BackupContext second = backup("2", Optional.of(first.backupDir()), List.of("/shared/big"), 1);
    assertThat(second.homeDir().resolve("shared/big")).doesNotExist();
    assertThat(HomeChecksums.verify(second.backupDir(), 2).ok()).isTrue();
  }

  private static long regularFiles(Path dir) throws java.io.IOException {
    try (var s = Files.walk(dir)) {
      return s.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).count();
    }
  }

  /** Lets the change times of the files just made age past the index's one-second margin. */
  private static void settle() throws InterruptedException {
    Thread.sleep(1_100);
  }

  private RsyncRun strategy(List<String> excludes, int parallel) {
    return rsyncStrategy(excludes, parallel).beginWithoutEarlyWalk();
  }

  private RsyncDiskStrategy rsyncStrategy(List<String> excludes, int parallel) {
    return new RsyncDiskStrategy(home, excludes, true, true, true, true, true, parallel, runner);
  }

  private final Map<String, HomeChecksums.Summary> checksums = new java.util.HashMap<>();
  private final Map<String, Map<String, String>> details = new java.util.HashMap<>();

  /** One backup into the btrfs root, with its manifest's home part and its checksums as the engine writes them. */
  private BackupContext backup(String tag, Optional<Path> previous, List<String> excludes, int parallel) throws Exception {
    BackupContext ctx = new BackupContext(tag, root.resolve(tag), previous, Progress.NONE);
    RsyncRun rsync = strategy(excludes, parallel);
    rsync.prepareBackup(ctx);
    CopyResult result = finish(rsync, ctx);
    record(ctx, result);
    details.put(tag, result.details());
    checksums.put(tag, HomeChecksums.write(ctx.backupDir(), previous, 2));
    return ctx;
  }

  private static void record(BackupContext ctx, CopyResult result) throws Exception {
    Json.MAPPER.writeValue(
        ctx.backupDir().resolve(Manifest.FILE).toFile(),
        Map.of("home", Map.of("strategy", "rsync", "details", result.details())));
  }

  private static String started(BackupContext ctx) throws Exception {
    return Json.MAPPER.readTree(ctx.backupDir().resolve(Manifest.FILE).toFile()).path("home").path("details").path("start").asText();
  }
}
