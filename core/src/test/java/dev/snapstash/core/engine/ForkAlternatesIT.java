package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.engine.VerifyEngine.Check;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "fork-alternates" on real forks ({@code git clone --shared}, as Bitbucket forks share objects): a restored home
 * whose forks name another home's origin is a finding that carries its fix, which works; a backup's copy, whose
 * forks name the home it was taken from, passes while the origin was copied with them.
 */
class ForkAlternatesIT {
  @TempDir Path tmp;
  private final ProcessRunner runner = new ProcessRunner();
  private final Consistency consistency = new Consistency(runner, new Random(1));
  private Path first;

  @BeforeAll
  static void git() {
    Tools.require("git");
  }

  /** A home with an origin (1), its fork (2) and a repository that is not a fork (3). */
  @BeforeEach
  void home() {
    first = tmp.resolve("first/home");
    Path repos = first.resolve("shared/data/repositories");
    runner.run(Command.of("git", "init", "-q", "--bare", repos.resolve("1").toString()));
    runner.run(Command.of("git", "clone", "-q", "--bare", "--shared", repos.resolve("1").toString(), repos.resolve("2").toString()));
    runner.run(Command.of("git", "init", "-q", "--bare", repos.resolve("3").toString()));
  }

  private Optional<Check> forks(Path home, Consistency.Home kind) {
    return consistency.forks(home, GitLocks.repositories(home), kind);
  }

  private Path copy(Path from, String to) {
    Path target = tmp.resolve(to + "/home");
    runner.run(Command.of("mkdir", "-p", target.getParent().toString()));
    runner.run(Command.of("cp", "-a", from.toString(), target.toString()));
    return target;
  }

  @Test
  void aForkWhoseOriginIsInTheHomePasses() {
    Check restored = forks(first, Consistency.Home.RESTORED).orElseThrow();
    assertThat(restored.ok()).as(restored.detail()).isTrue();
    assertThat(restored.detail()).isEqualTo("1 forks, each with its origin's objects in this home");
    assertThat(forks(first, Consistency.Home.BACKUP_COPY).orElseThrow().ok()).isTrue();
  }

  @Test
  void aHomeWithoutForksHasNoSuchCheck() throws Exception {
    runner.run(Command.of("rm", "-rf", first.resolve("shared/data/repositories/2").toString()));
    assertThat(forks(first, Consistency.Home.RESTORED)).isEmpty();
  }

  /**
   * Restored to another path while the original still exists (a staging copy on production's host): the fork
   * would read production's objects. The finding names the fork and the path, and gives a command that fixes
   * every fork at once; after it, the check passes.
   */
  @Test
  void aForkRestoredToAnotherPathIsAFindingWithItsFix() throws Exception {
    Path restored = copy(first, "restored");
    Check c = forks(restored, Consistency.Home.RESTORED).orElseThrow();
    assertThat(c.ok()).isFalse();
    String sed = "sed -i 's|^" + first + "/|" + restored + "/|' " + restored + "/shared/data/repositories/*/objects/info/alternates";
    assertThat(c.detail()).isEqualTo("1 of 1 forks: 1 take their origin's objects from outside this home, at the path"
        + " Bitbucket wrote when the home was elsewhere (2 -> " + first + "/shared/data/repositories/1/objects); before"
        + " starting Bitbucket on this home, point them at it: " + sed);

    // The fix as given, through a shell as an operator would paste it.
    runner.run(Command.of("sh", "-c", sed));
    assertThat(Files.readString(restored.resolve("shared/data/repositories/2/objects/info/alternates")).strip())
        .isEqualTo(restored + "/shared/data/repositories/1/objects");
    Check fixed = forks(restored, Consistency.Home.RESTORED).orElseThrow();
    assertThat(fixed.ok()).as(fixed.detail()).isTrue();
  }

  /**
   * What a restore does to such a home before anything can start on it: the fork is pointed at its origin in the
   * restored home, as Bitbucket writes the file (an absolute path); the file keeps its mode; a line naming an origin
   * the home does not hold is left as it is, for the check to report.
   */
  @Test
  void aRestoreRepointsForksAtTheirOriginsInTheRestoredHome() throws Exception {
    Path fork = first.resolve("shared/data/repositories/2/objects/info/alternates");
    Files.writeString(fork, Files.readString(fork) + "/elsewhere/shared/data/repositories/9/objects\n");
    Files.setPosixFilePermissions(fork, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
    Path restored = copy(first, "restored");

    assertThat(Alternates.repoint(restored)).containsExactly("shared/data/repositories/2/objects/info/alternates");

    Path file = restored.resolve("shared/data/repositories/2/objects/info/alternates");
    assertThat(Files.readAllLines(file))
        .containsExactly(restored + "/shared/data/repositories/1/objects", "/elsewhere/shared/data/repositories/9/objects");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-r-----");
    Check c = forks(restored, Consistency.Home.RESTORED).orElseThrow();
    assertThat(c.ok()).isFalse();
    assertThat(c.detail()).contains("name an origin whose objects are not in this home").doesNotContain("repositories/1/");
    assertThat(Alternates.repoint(restored)).as("nothing more to do").isEmpty();
  }

  /** End to end: backed up, restored to another path, the fork works there and every check passes. */
  @Test
  void aForkBackedUpAndRestoredElsewhereReadsItsOriginThere() throws Exception {
    Path origin = first.resolve("shared/data/repositories/1");
    Path work = tmp.resolve("work");
    runner.run(Command.of("git", "clone", "-q", origin.toString(), work.toString()));
    java.nio.file.Files.writeString(work.resolve("a.txt"), "a\n");
    runner.run(Command.of("git", "-C", work.toString(), "add", "a.txt"));
    runner.run(Command.of("git", "-C", work.toString(), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "a"));
    runner.run(Command.of("git", "-C", work.toString(), "push", "-q", "origin", "HEAD:refs/heads/main"));
    runner.run(Command.of("git", "--git-dir=" + first.resolve("shared/data/repositories/2"), "fetch", "-q", origin.toString(), "main:main"));
    Path root = tmp.resolve("backups");
    var rsync = new dev.snapstash.strategy.disk.rsync.RsyncDiskStrategy(first, java.util.List.of(), true, true, false, true, true, 1, runner);
    var quiescer = new dev.snapstash.strategy.quiesce.command.CommandQuiescer(
        java.util.List.of("true"), java.util.List.of("true"), java.time.Duration.ofSeconds(10), runner, System::nanoTime);
    new BackupEngine(
            new BackupEngine.Settings("bb", first, new BackupStore(root), new Retention.Policy(0, 0, 0, 0), false, 0, "t"),
            quiescer, rsync, new dev.snapstash.strategy.database.none.NoDatabaseStrategy(), java.util.List.of(),
            java.time.Clock.systemUTC(), System::nanoTime)
        .backup(dev.snapstash.core.spi.Progress.NONE);
    Path target = tmp.resolve("elsewhere/home");

    RestoreEngine.Report r = new RestoreEngine(
            new BackupStore(root), rsync, new dev.snapstash.strategy.database.none.NoDatabaseStrategy(),
            dev.snapstash.core.bitbucket.InstanceProbe.none(), java.time.Clock.systemUTC(), System::nanoTime,
            new Consistency(runner, new Random(1)))
        .restore(new RestoreEngine.Options("latest", target, false, false, true), dev.snapstash.core.spi.Progress.NONE);

    assertThat(r.alternatesRepointed()).containsExactly("shared/data/repositories/2/objects/info/alternates");
    assertThat(r.ok()).as(r.verification().toString()).isTrue();
    assertThat(Files.readString(target.resolve("shared/data/repositories/2/objects/info/alternates")).strip())
        .isEqualTo(target.toAbsolutePath().normalize() + "/shared/data/repositories/1/objects");
    runner.run(Command.of("rm", "-rf", first.toString()));
    assertThat(runner.runAllowingFailure(
        Command.of("git", "-c", "safe.directory=*", "--git-dir=" + target.resolve("shared/data/repositories/2"), "fsck", "--no-progress"), l -> {})
        .exitCode()).as("the fork reads its objects in the restored home, the original gone").isZero();
  }

  /** A backup's copy: its forks name the home it came from, as they should; the origin must be in the copy. */
  @Test
  void aBackupCopyNeedsItsForksOriginsCopiedWithThem() throws Exception {
    Path backup = copy(first, "backup");
    runner.run(Command.of("rm", "-rf", first.toString()));
    Check c = forks(backup, Consistency.Home.BACKUP_COPY).orElseThrow();
    assertThat(c.ok()).as(c.detail()).isTrue();
    assertThat(c.detail()).isEqualTo("1 forks, each with its origin's objects in this copy");

    runner.run(Command.of("rm", "-rf", backup.resolve("shared/data/repositories/1").toString()));
    Check gone = forks(backup, Consistency.Home.BACKUP_COPY).orElseThrow();
    assertThat(gone.ok()).isFalse();
    assertThat(gone.detail()).isEqualTo("1 of 1 forks: 1 name an origin whose objects are not in this copy: [2 -> "
        + first + "/shared/data/repositories/1/objects]");
    // Restored, the same fork has no origin to be pointed at: said so, not a fix that cannot work.
    assertThat(forks(backup, Consistency.Home.RESTORED).orElseThrow().detail())
        .contains("name an origin whose objects are not in this home");
  }

  /** An alternates file that cannot be read is reported, not thrown. */
  @Test
  void anUnreadableAlternatesFileIsReported() throws Exception {
    Path file = first.resolve("shared/data/repositories/2/objects/info/alternates");
    Files.delete(file);
    Files.createDirectory(file);
    Check c = forks(first, Consistency.Home.RESTORED).orElseThrow();
    assertThat(c.ok()).isFalse();
    assertThat(c.detail()).startsWith("1 of 1 forks: unreadable alternates: [2 (cannot read " + file);
  }

  /** The old home in the fix is what precedes the store's path in the line, or nothing for other lines. */
  @Test
  void theFixNamesTheHomeTheFileWasWrittenIn() {
    Path home = tmp.resolve("new");
    Alternates.Entry e = new Alternates.Entry("/var/bb/shared/data/repositories/1/objects/",
        Path.of("/var/bb/shared/data/repositories/1/objects"), home.resolve("shared/data/repositories/1/objects"));
    assertThat(e.recordedHome(home)).isEqualTo("/var/bb");
    assertThat(new Alternates.Entry("/elsewhere/objects", Path.of("/elsewhere/objects"), null).recordedHome(home)).isNull();
  }
}
