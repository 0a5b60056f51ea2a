package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.util.Trees;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.strategy.database.none.NoDatabaseStrategy;
import dev.snapstash.strategy.disk.rsync.RsyncDiskStrategy;
import dev.snapstash.strategy.quiesce.command.CommandQuiescer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Restore with real rsync: refusals that write nothing, integrity checks, stale Git locks, hard-linked incrementals. */
class RestoreEngineTest {
  @TempDir Path tmp;
  Path home;
  Path root;
  Path target;
  final ProcessRunner runner = new ProcessRunner();

  @BeforeEach
  void home() throws Exception {
    home = tmp.resolve("home");
    root = tmp.resolve("backups");
    target = tmp.resolve("restored");
    Path repo = home.resolve("shared/data/repositories/7");
    Files.createDirectories(repo.resolve("objects/pack"));
    Files.createDirectories(repo.resolve("refs/heads/feature"));
    Files.writeString(repo.resolve("HEAD"), "ref: refs/heads/main\n");
    Files.writeString(repo.resolve("objects/pack/pack-1.pack"), "PACK-CONTENT");
    // Lock files a copy of a crashed instance can carry.
    Files.writeString(repo.resolve("HEAD.lock"), "");
    Files.writeString(repo.resolve("gc.pid"), "123");
    Files.writeString(repo.resolve("refs/heads/feature/x.lock"), "");
    Files.writeString(repo.resolve("packed-refs.lock"), "");
  }

  private Manifest backup() {
    Quiescer q = new CommandQuiescer(List.of("true"), List.of("true"), Duration.ofSeconds(10), runner, System::nanoTime);
    return new BackupEngine(
            new BackupEngine.Settings("bb", home, new BackupStore(root), new Retention.Policy(0, 0, 0, 0), false, 0, "t"),
            q, rsync(), new NoDatabaseStrategy(), List.of(), Clock.systemUTC(), System::nanoTime)
        .backup(Progress.NONE);
  }

  private RsyncDiskStrategy rsync() {
    return new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, runner);
  }

  private RestoreEngine restorer() {
    return new RestoreEngine(new BackupStore(root), rsync(), new NoDatabaseStrategy(), dev.snapstash.core.bitbucket.InstanceProbe.none(), Clock.systemUTC(), System::nanoTime);
  }

  @Test
  void restoresTheHomeAndRemovesStaleGitLocks() throws Exception {
    Manifest m = backup();
    RestoreEngine.Report r = restorer().restore(new RestoreEngine.Options("latest", target, false, false), Progress.NONE);
    Path repo = target.resolve("shared/data/repositories/7");
    assertThat(repo.resolve("objects/pack/pack-1.pack")).hasContent("PACK-CONTENT");
    assertThat(repo.resolve("HEAD.lock")).doesNotExist();
    assertThat(repo.resolve("gc.pid")).doesNotExist();
    assertThat(repo.resolve("refs/heads/feature/x.lock")).doesNotExist();
    assertThat(repo.resolve("packed-refs.lock")).doesNotExist();
    assertThat(r.staleLocksRemoved()).hasSize(4);
    assertThat(target.resolve("log/snapstash-restore-" + m.tag() + ".json")).exists();
  }

  @Test
  void refusesANonEmptyTargetAndWritesNothing() throws Exception {
    backup();
    Files.createDirectories(target);
    Files.writeString(target.resolve("precious"), "data");
    assertThatThrownBy(() -> restorer().restore(new RestoreEngine.Options("latest", target, false, false), Progress.NONE))
        .hasMessageContaining("is not empty")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.PRECONDITION);
    try (var s = Files.list(target)) {
      assertThat(s.toList()).containsExactly(target.resolve("precious"));
    }
  }

  private RestoreEngine engineWhere(String what, boolean certain) {
    return new RestoreEngine(
        new BackupStore(root), rsync(), new NoDatabaseStrategy(),
        () -> java.util.Optional.of(new dev.snapstash.core.bitbucket.InstanceProbe.Answer(what, certain)),
        Clock.systemUTC(), System::nanoTime);
  }

  /** A Bitbucket that answers with its version is running: refused, --force or not. */
  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void refusesARunningInstanceEvenWhenForcedAndWritesNothing(boolean force) throws Exception {
    backup();
    var engine = engineWhere("Bitbucket 8.19.1 answers at http://bb", true);
    assertThatThrownBy(() -> engine.restore(new RestoreEngine.Options("latest", target, force, false), Progress.NONE))
        .hasMessageContaining("Bitbucket 8.19.1 answers at http://bb; stop the instance before restoring")
        .hasMessageNotContaining("--force overrules")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.PRECONDITION);
    assertThat(target).doesNotExist();
  }

  /**
   * Something that answers but may not be Bitbucket (a TLS handshake this client cannot finish, a proxy's page) is
   * refused too, and only --force, the operator's word that it is not the instance, lets the restore go on.
   */
  @Test
  void somethingElseAnsweringIsRefusedUnlessForced() throws Exception {
    backup();
    var engine = engineWhere("something at https://bb speaks TLS, but the handshake failed (PKIX path building failed)", false);
    assertThatThrownBy(() -> engine.restore(new RestoreEngine.Options("latest", target, false, false), Progress.NONE))
        .hasMessageContaining("handshake failed")
        .hasMessageContaining("--force overrules this check");
    assertThat(target).doesNotExist();

    engine.restore(new RestoreEngine.Options("latest", target, true, false), Progress.NONE);
    assertThat(target.resolve("shared/data/repositories/7/HEAD")).exists();
  }

  /** A live process with a file open in the target, even without a .lock file. */
  @Test
  void refusesATargetALiveProcessWorksInAndWritesNothing() throws Exception {
    backup();
    Files.createDirectories(target.resolve("log"));
    Files.writeString(target.resolve("log/atlassian-bitbucket.log"), "running\n");
    Process holder =
        new dev.snapstash.core.process.ProcessRunner()
            .start(dev.snapstash.core.process.Command.of("tail", "-f", target.resolve("log/atlassian-bitbucket.log").toString()), root.resolve("tail.out"));
    try {
      await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> !dev.snapstash.core.util.ProcessesUsing.directory(target).isEmpty());
      assertThatThrownBy(() -> restorer().restore(new RestoreEngine.Options("latest", target, true, false), Progress.NONE))
          .hasMessageContaining("process " + holder.pid() + " (tail) has files open in the target home");
      try (var l = Files.list(target)) {
        assertThat(l.map(p -> p.getFileName().toString()).toList()).containsExactly("log");
      }
    } finally {
      holder.destroyForcibly().waitFor();
    }
    assertThat(dev.snapstash.core.util.ProcessesUsing.directory(target)).isEmpty();
  }

  @Test
  void refusesATargetWithALockFile() throws Exception {
    backup();
    Files.createDirectories(target);
    Files.writeString(target.resolve(".lock"), "");
    assertThatThrownBy(() -> restorer().restore(new RestoreEngine.Options("latest", target, true, false), Progress.NONE))
        .hasMessageContaining(".lock file");
  }

  @Test
  void anUnknownTagNamesTheNearestOnes() {
    Manifest m = backup();
    assertThatThrownBy(() -> restorer().restore(new RestoreEngine.Options(m.tag().substring(0, m.tag().length() - 1) + "x", target, false, false), Progress.NONE))
        .hasMessageContaining("no backup tagged")
        .hasMessageContaining("nearest: " + m.tag());
  }

  @Test
  void aFlippedByteInTheBackupIsRefusedBeforeWriting() throws Exception {
    Manifest m = backup();
    Path pack = root.resolve(m.tag()).resolve("home/shared/data/repositories/7/objects/pack/pack-1.pack");
    byte[] b = Files.readAllBytes(pack);
    b[3] ^= 1;
    Files.write(pack, b);
    assertThatThrownBy(() -> restorer().restore(new RestoreEngine.Options(m.tag(), target, false, false), Progress.NONE))
        .hasMessageContaining("is damaged")
        .hasMessageContaining("pack-1.pack")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.VERIFICATION);
    assertThat(target).doesNotExist();
  }

  @Test
  void anIncompleteBackupIsRefusedUnlessAllowed() throws Exception {
    Manifest m = backup();
    BackupStore store = new BackupStore(root);
    store.write(m.withState(Manifest.State.FAILED, m.finishedAt(), "boom"));
    assertThatThrownBy(() -> restorer().restore(new RestoreEngine.Options(m.tag(), target, false, false), Progress.NONE))
        .hasMessageContaining("is failed, not complete");
    restorer().restore(new RestoreEngine.Options(m.tag(), target, false, true), Progress.NONE);
    assertThat(target.resolve("shared/data/repositories/7/HEAD")).exists();
  }

  @Test
  void checksumsOfUnchangedFilesAreReusedAndStillRight() throws Exception {
    Manifest first = backup();
    Files.writeString(home.resolve("shared/data/repositories/7/objects/pack/pack-2.pack"), "NEW");
    Manifest second = backup();
    var check = HomeChecksums.verify(root.resolve(second.tag()), 2);
    assertThat(check.ok()).isTrue();
    assertThat(check.files()).isEqualTo(HomeChecksums.verify(root.resolve(first.tag()), 2).files() + 1);
  }

  @Test
  void aFailedRestoreLeavesAnEmptyTargetEmpty() {
    backup();
    DatabaseStrategy failing =
        new DatabaseStrategy() {
          @Override
          public String name() {
            return "failing";
          }

          @Override
          public void check(Findings findings) {}

          @Override
          public CopyResult backup(BackupContext context) {
            return CopyResult.empty(name());
          }

          @Override
          public void prepareRestore(RestoreContext context) {}

          @Override
          public void restore(RestoreContext context) {
            throw new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "pg_restore failed");
          }
        };
    var engine = new RestoreEngine(new BackupStore(root), rsync(), failing, dev.snapstash.core.bitbucket.InstanceProbe.none(), Clock.systemUTC(), System::nanoTime);
    assertThatThrownBy(() -> engine.restore(new RestoreEngine.Options("latest", target, false, false), Progress.NONE))
        .hasMessage("pg_restore failed");
    assertThat(target).doesNotExist();
  }

  /** A real bare repository with one commit, in place of the fixture's fake one. */
  private void realRepository(String id) throws Exception {
    Trees.deleteRecursively(home.resolve("shared/data/repositories/7"));
    Path work = tmp.resolve("work-" + id);
    Path repo = home.resolve("shared/data/repositories/" + id);
    runner.run(Command.of("git", "init", "-q", "-b", "main", work.toString()));
    Files.writeString(work.resolve("README"), "hello\n");
    runner.run(Command.of("git", "-C", work.toString(), "add", "README"));
    runner.run(Command.of("git", "-C", work.toString(), "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "one"));
    runner.run(Command.of("git", "clone", "-q", "--bare", work.toString(), repo.toString()));
  }

  @Test
  void verifiesTheRestoredResultAndRecordsItInTheReport() throws Exception {
    realRepository("8");
    Manifest m = backup();
    RestoreEngine.Report r = restorer().restore(new RestoreEngine.Options("latest", target, false, false), Progress.NONE);
    assertThat(r.ok()).as(r.verification().toString()).isTrue();
    assertThat(r.verification().checks()).extracting(VerifyEngine.Check::name).containsExactly("home-checksums", "git-fsck");
    assertThat(r.verification().checks().get(0).detail()).matches("\\d+ restored files match the backup's home.sha256");
    assertThat(r.verification().fsckRepositories()).containsExactly("shared/data/repositories/8");
    assertThat(r.phases()).containsKey("verify");
    String json = Files.readString(target.resolve("log/snapstash-restore-" + m.tag() + ".json"));
    assertThat(json).contains("\"verification\"").contains("\"git-fsck\"");
  }

  @Test
  void aRestoredRepositoryThatFailsFsckFailsTheResultAndStaysInPlace() throws Exception {
    // A branch that points at a commit the repository does not have: the backup is faithful to a broken source,
    // so its checksums pass, and only the checks of the restored result catch it.
    realRepository("7");
    Files.writeString(home.resolve("shared/data/repositories/7/refs/heads/broken"), "0123456789012345678901234567890123456789\n");
    backup();
    RestoreEngine.Report r = restorer().restore(new RestoreEngine.Options("latest", target, false, false), Progress.NONE);
    assertThat(r.ok()).isFalse();
    VerifyEngine.Check fsck =
        r.verification().checks().stream().filter(c -> c.name().equals("git-fsck")).findFirst().orElseThrow();
    assertThat(fsck.ok()).isFalse();
    assertThat(fsck.detail()).contains("1 damaged: 7");
    assertThat(target.resolve("shared/data/repositories/7/HEAD")).exists();
  }

  @Test
  void noVerifySkipsTheChecksOfTheResult() throws Exception {
    backup();
    RestoreEngine.Report r =
        restorer().restore(new RestoreEngine.Options("latest", target, false, false, false), Progress.NONE);
    assertThat(r.verification()).isNull();
    assertThat(r.ok()).isTrue();
    assertThat(r.phases()).doesNotContainKey("verify");
  }

  @Test
  void aRestoredHomeIsComparedWithTheBackupsChecksumList() throws Exception {
    Manifest m = backup();
    Path backupDir = root.resolve(m.tag());
    Path copy = tmp.resolve("copy");
    runner.run(Command.of("cp", "-a", backupDir.resolve("home").toString(), copy.toString()));
    assertThat(HomeChecksums.verifyCopy(backupDir, copy, java.util.Set.of(), 2).ok()).isTrue();

    Path pack = copy.resolve("shared/data/repositories/7/objects/pack/pack-1.pack");
    byte[] b = Files.readAllBytes(pack);
    b[0] ^= 1;
    Files.write(pack, b);
    Files.delete(copy.resolve("shared/data/repositories/7/HEAD.lock"));
    Files.writeString(copy.resolve("added-by-the-restore"), "fine");
    HomeChecksums.Check c = HomeChecksums.verifyCopy(backupDir, copy, java.util.Set.of(), 2);
    assertThat(c.mismatched()).containsExactly("shared/data/repositories/7/objects/pack/pack-1.pack");
    assertThat(c.missing()).containsExactly("shared/data/repositories/7/HEAD.lock");
    // Files the restore removed on purpose (stale Git locks) are not missing.
    assertThat(HomeChecksums.verifyCopy(backupDir, copy, java.util.Set.of("shared/data/repositories/7/HEAD.lock"), 2).missing())
        .isEmpty();
  }

  /**
   * A forced restore over an earlier restore of the same instance. A ref (always 41 bytes) rewritten twice
   * within one second differs from the target's only in content and in the sub-second part of its mtime; rsync's
   * default quick check (size + whole-second mtime) skips it, so the target keeps the old commit id.
   */
  @Test
  void aForcedRestoreReplacesAFileOfTheSameSizeRewrittenWithinTheSameSecond() throws Exception {
    Path ref = home.resolve("shared/data/repositories/7/refs/heads/main");
    java.time.Instant second = java.time.Instant.parse("2024-05-01T10:00:00Z");
    Files.writeString(ref, "1111111111111111111111111111111111111111\n");
    Files.setLastModifiedTime(ref, java.nio.file.attribute.FileTime.from(second.plusMillis(100)));
    Manifest a = backup();
    restorer().restore(new RestoreEngine.Options(a.tag(), target, false, false), Progress.NONE);

    Files.writeString(ref, "2222222222222222222222222222222222222222\n");
    Files.setLastModifiedTime(ref, java.nio.file.attribute.FileTime.from(second.plusMillis(900)));
    Manifest b = backup();
    assertThat(root.resolve(b.tag()).resolve("home/shared/data/repositories/7/refs/heads/main"))
        .hasContent("2222222222222222222222222222222222222222");

    RestoreEngine.Report r = restorer().restore(new RestoreEngine.Options(b.tag(), target, true, false), Progress.NONE);
    assertThat(target.resolve("shared/data/repositories/7/refs/heads/main"))
        .as("--force replaces the contents (docs/strategies/disk-rsync.md); verification: " + r.verification())
        .hasContent("2222222222222222222222222222222222222222");
    // (git fsck fails here whatever the copy: the test's refs name no real commit.)
    assertThat(r.verification().checks())
        .filteredOn(c -> c.name().equals("home-checksums"))
        .singleElement()
        .matches(VerifyEngine.Check::ok, "the restored files match the backup");
  }

  /**
   * A forced restore must not keep the target's hard links between files the backup holds as separate inodes (same
   * size, same mtime, same bytes): rsync never looks at files its quick check calls up to date.
   */
  @Test
  void aForcedRestoreReproducesTheBackupsHardLinkStructure() throws Exception {
    Path a = home.resolve("shared/data/repositories/7/objects/pack/x.idx");
    Path b = home.resolve("shared/config-copy");
    java.nio.file.attribute.FileTime t = java.nio.file.attribute.FileTime.from(java.time.Instant.parse("2024-05-01T10:00:00Z"));
    Files.writeString(a, "same bytes");
    Files.writeString(b, "same bytes");
    Files.setLastModifiedTime(a, t);
    Files.setLastModifiedTime(b, t);
    Manifest m = backup();

    // The target: an earlier home in which the two names were one inode.
    Files.createDirectories(target.resolve("shared/data/repositories/7/objects/pack"));
    Path ta = target.resolve("shared/data/repositories/7/objects/pack/x.idx");
    Files.writeString(ta, "same bytes");
    Files.setLastModifiedTime(ta, t);
    Files.createLink(target.resolve("shared/config-copy"), ta);

    restorer().restore(new RestoreEngine.Options(m.tag(), target, true, false), Progress.NONE);
    Object backupA = Files.getAttribute(root.resolve(m.tag()).resolve("home/shared/data/repositories/7/objects/pack/x.idx"), "unix:ino");
    Object backupB = Files.getAttribute(root.resolve(m.tag()).resolve("home/shared/config-copy"), "unix:ino");
    assertThat(backupA).isNotEqualTo(backupB);
    assertThat(Files.isSameFile(ta, target.resolve("shared/config-copy")))
        .as("two separate files in the backup, two separate files after the restore")
        .isFalse();
  }

  /**
   * The home target is often a symbolic link to a directory on a data volume. Empty, it passes every check
   * (Trees.isEmptyOrMissing follows the link), then `cp -a -T` refuses to "overwrite non-directory" and the failure
   * path's Trees.deleteRecursively (which never follows links) deletes the operator's link.
   */
  @Test
  void restoresIntoAnEmptyTargetReachedThroughASymbolicLink() throws Exception {
    Manifest m = backup();
    Path volume = tmp.resolve("volume/bitbucket");
    Files.createDirectories(volume);
    Files.createSymbolicLink(target, volume);
    SnapstashException thrown = null;
    try {
      restorer().restore(new RestoreEngine.Options(m.tag(), target, false, false), Progress.NONE);
    } catch (SnapstashException e) {
      thrown = e;
    }
    assertThat(Files.isSymbolicLink(target))
        .as("the operator's link to the data volume is still there (the restore threw: " + thrown + ")")
        .isTrue();
    assertThat(thrown).isNull();
    assertThat(volume.resolve("shared/data/repositories/7/objects/pack/pack-1.pack")).hasContent("PACK-CONTENT");
  }
}
