package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.FileModes;
import dev.snapstash.strategy.database.none.NoDatabaseStrategy;
import dev.snapstash.strategy.disk.rsync.RsyncDiskStrategy;
import dev.snapstash.strategy.quiesce.command.CommandQuiescer;
import dev.snapstash.testing.Tools;
import dev.snapstash.testing.Umask;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who can read a backup (issue #16, item 6): the backup root, each backup directory and snapstash's own files are
 * their owner's only (or a configured group's) whatever the umask; the copy of the home keeps the home's own modes
 * and owners, and a restore gives them back. Real rsync, run under the usual umask 022, which the rsync children
 * inherit.
 */
class BackupModesTest {
  @TempDir Path tmp;
  Path home;
  Path root;
  final ProcessRunner runner = new ProcessRunner();
  Umask umask;

  @BeforeEach
  void home() throws Exception {
    umask = Umask.set(022);
    home = tmp.resolve("home");
    root = tmp.resolve("backups");
    Files.createDirectories(home.resolve("shared/data/repositories/1/objects"));
    Files.writeString(home.resolve("shared/bitbucket.properties"), "jdbc.password=secret\n");
    Files.writeString(home.resolve("shared/data/repositories/1/HEAD"), "ref: refs/heads/main\n");
    Files.writeString(home.resolve("shared/data/repositories/1/description"), "shared\n");
    chmod(home, "rwxr-x--x");
    chmod(home.resolve("shared/bitbucket.properties"), "rw-------");
    chmod(home.resolve("shared/data"), "rwxr-x---");
    chmod(home.resolve("shared/data/repositories/1/HEAD"), "rw----r--");
    chmod(home.resolve("shared/data/repositories/1/description"), "rw-r--r--");
  }

  @AfterEach
  void umask() {
    umask.close();
  }

  @Test
  void theRootTheBackupAndSnapstashsFilesAreTheOwnersOnlyUnderTheUsualUmask() throws Exception {
    Manifest m = backup(FileModes.ownerOnly());

    Path dir = root.resolve(m.tag());
    assertThat(mode(root)).as("the root snapstash created").isEqualTo("rwx------");
    assertThat(mode(dir)).isEqualTo("rwx------");
    assertThat(mode(dir.resolve(Manifest.FILE))).isEqualTo("rw-------");
    assertThat(mode(dir.resolve(HomeChecksums.FILE))).isEqualTo("rw-------");
    assertThat(mode(root.resolve(RunGuard.FILE))).isEqualTo("rw-------");
    assertThat(ownFiles(root)).as("everything snapstash wrote, the home copy aside").allSatisfy(p ->
        assertThat(mode(p)).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------"));
    assertHomeModes(dir.resolve("home"));
  }

  @Test
  void withAGroupTheBackupsAreReadableByItEvenUnderAStrictUmask() throws Exception {
    Tools.requireThat(Umask.root(tmp), "giving files to any group (chgrp) needs root");
    umask.close();
    umask = Umask.set(077);
    Manifest m = backup(FileModes.of("4242"));

    Path dir = root.resolve(m.tag());
    for (Path p : List.of(root, dir)) {
      assertThat(mode(p)).as(p.toString()).isEqualTo("rwxr-x---");
      assertThat(gid(p)).as(p.toString()).isEqualTo(4242);
    }
    for (Path p : List.of(dir.resolve(Manifest.FILE), dir.resolve(HomeChecksums.FILE))) {
      assertThat(mode(p)).as(p.toString()).isEqualTo("rw-r-----");
      assertThat(gid(p)).as(p.toString()).isEqualTo(4242);
    }
    assertThat(mode(root.resolve(RunGuard.FILE))).as("the run guard is no backup: its owner's only").isEqualTo("rw-------");
    assertHomeModes(dir.resolve("home"));
  }

  @Test
  void theNextBackupTightensBackupsAnOlderVersionLeftOpen() throws Exception {
    Manifest old = backup(FileModes.ownerOnly());
    Path dir = root.resolve(old.tag());
    // As an older snapstash left them under umask 022, with a dump beside the home.
    Files.createDirectories(dir.resolve("database/dump"));
    Files.writeString(dir.resolve("database/dump/toc.dat"), "dump");
    for (Path p : List.of(dir, dir.resolve("database"), dir.resolve("database/dump"))) {
      chmod(p, "rwxr-xr-x");
    }
    for (Path p : List.of(dir.resolve(Manifest.FILE), dir.resolve(HomeChecksums.FILE), dir.resolve("database/dump/toc.dat"))) {
      chmod(p, "rw-r--r--");
    }
    chmod(root.resolve(RunGuard.FILE), "rw-r--r--");

    backup(FileModes.ownerOnly());

    assertThat(ownFiles(root)).as("every backup's own files, the older one's too").allSatisfy(p ->
        assertThat(mode(p)).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------"));
    assertThat(mode(root.resolve(RunGuard.FILE))).isEqualTo("rw-------");
    assertHomeModes(dir.resolve("home"));

    // And a group configured later is given the backups already there.
    if (Umask.root(tmp)) {
      backup(FileModes.of("4242"));
      assertThat(mode(dir)).isEqualTo("rwxr-x---");
      assertThat(gid(dir)).isEqualTo(4242);
      assertThat(mode(dir.resolve("database/dump/toc.dat"))).isEqualTo("rw-r-----");
      assertHomeModes(dir.resolve("home"));
    }
  }

  @Test
  void aRootWritableByOthersIsRefusedBeforeAnythingIsWrittenIntoIt() throws Exception {
    for (String open : List.of("rwxrwxrwx", "rwxrwx---", "rwxrwxrwt")) {
      Files.createDirectories(root);
      chmod(root, open);
      assertThatThrownBy(() -> backup(FileModes.ownerOnly()))
          .isInstanceOf(SnapstashException.class)
          .hasMessageContaining("nothing was locked")
          .hasMessageContaining("backup.root: " + root + " is writable by")
          .hasMessageContaining("run `chmod go-w " + root + "`")
          .extracting(e -> ((SnapstashException) e).kind())
          .isEqualTo(ErrorKind.PRECONDITION);
      try (Stream<Path> s = Files.list(root)) {
        assertThat(s.toList()).as("written into a root mode %s", open).isEmpty();
      }
      Findings f = engine(FileModes.ownerOnly()).check();
      assertThat(f.problems()).as("check says so too").anySatisfy(p -> {
        assertThat(p.subject()).isEqualTo("backup.root");
        assertThat(p.message()).contains("chmod go-w " + root);
      });
      Files.delete(root);
    }
  }

  @Test
  void checkWarnsWhenOthersCanListTheRootWithoutFailing() throws Exception {
    Files.createDirectories(root);
    chmod(root, "rwxr-xr-x");
    Findings f = engine(FileModes.ownerOnly()).check();
    assertThat(f.problems()).isEmpty();
    assertThat(f.warnings()).singleElement().satisfies(w -> {
      assertThat(w.subject()).isEqualTo("backup.root");
      assertThat(w.message()).contains("readable by other users (mode 0755)", "run `chmod o-rwx " + root + "`");
    });
    assertThat(backup(FileModes.ownerOnly()).state()).as("a warning stops nothing").isEqualTo(Manifest.State.COMPLETE);
    assertThat(mode(root)).as("the operator's root is left as it is").isEqualTo("rwxr-xr-x");

    chmod(root, "rwx------");
    assertThat(engine(FileModes.ownerOnly()).check().warnings()).isEmpty();
  }

  @Test
  void checkWarnsWhenTheConfiguredGroupCannotListTheRoot() throws Exception {
    Files.createDirectories(root);
    chmod(root, "rwx------");
    Findings f = engine(FileModes.of("4242")).check();
    assertThat(f.warnings()).singleElement().satisfies(w -> {
      assertThat(w.subject()).isEqualTo("backup.group");
      assertThat(w.message()).contains("chgrp 4242 " + root + " && chmod g+rx " + root);
    });
  }

  /** The backup's home carries the live home's modes and owners, its top directory included; so does a restore. */
  @Test
  void aRestoredHomeGetsTheModesAndOwnersTheBackupRecorded() throws Exception {
    Tools.requireThat(Umask.root(tmp), "files owned by other users need root");
    chown(home, 4242, 4243);
    chown(home.resolve("shared/bitbucket.properties"), 4242, 4243);
    chown(home.resolve("shared/data"), 4242, 4243);
    chown(home.resolve("shared/data/repositories/1/HEAD"), 4244, 4245);
    Manifest m = backup(FileModes.ownerOnly());
    assertHomeModes(root.resolve(m.tag()).resolve("home"));
    assertOwners(root.resolve(m.tag()).resolve("home"));

    RestoreEngine restorer =
        new RestoreEngine(new BackupStore(root), rsync(), new NoDatabaseStrategy(), dev.snapstash.core.bitbucket.InstanceProbe.none(), Clock.systemUTC(), System::nanoTime);
    Path empty = tmp.resolve("restored");
    restorer.restore(new RestoreEngine.Options(m.tag(), empty, false, false), Progress.NONE);
    assertHomeModes(empty);
    assertOwners(empty);

    // Into a non-empty home with --force (rsync rather than cp): the same.
    Path replaced = Files.createDirectories(tmp.resolve("replaced/shared"));
    Files.writeString(replaced.resolve("bitbucket.properties"), "old");
    chmod(replaced.getParent(), "rwxrwxr-x");
    restorer.restore(new RestoreEngine.Options(m.tag(), replaced.getParent(), true, false), Progress.NONE);
    assertHomeModes(replaced.getParent());
    assertOwners(replaced.getParent());
  }

  private void assertHomeModes(Path copy) throws Exception {
    assertThat(mode(copy)).as("the home directory's own mode, not the backup's").isEqualTo("rwxr-x--x");
    assertThat(mode(copy.resolve("shared/bitbucket.properties"))).isEqualTo("rw-------");
    assertThat(mode(copy.resolve("shared/data"))).isEqualTo("rwxr-x---");
    assertThat(mode(copy.resolve("shared/data/repositories/1/HEAD"))).isEqualTo("rw----r--");
    assertThat(mode(copy.resolve("shared/data/repositories/1/description"))).isEqualTo("rw-r--r--");
  }

  private void assertOwners(Path copy) throws Exception {
    assertThat(owner(copy)).isEqualTo("4242:4243");
    assertThat(owner(copy.resolve("shared/bitbucket.properties"))).isEqualTo("4242:4243");
    assertThat(owner(copy.resolve("shared/data"))).isEqualTo("4242:4243");
    assertThat(owner(copy.resolve("shared/data/repositories/1/HEAD"))).isEqualTo("4244:4245");
  }

  /** Everything under the root but the copies of the home and their contents. */
  private List<Path> ownFiles(Path root) throws Exception {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root)) {
      s.filter(p -> !p.equals(root))
          .filter(p -> root.relativize(p).getNameCount() < 2 || !root.relativize(p).getName(1).toString().equals("home"))
          .forEach(out::add);
    }
    assertThat(out).isNotEmpty();
    return out;
  }

  private Manifest backup(FileModes modes) {
    return engine(modes).backup(Progress.NONE);
  }

  private BackupEngine engine(FileModes modes) {
    return new BackupEngine(
        new BackupEngine.Settings("bb", home, new BackupStore(root, modes), new Retention.Policy(0, 0, 0, 0), false, 0, "t"),
        new CommandQuiescer(List.of("true"), List.of("true"), Duration.ofSeconds(10), runner, System::nanoTime),
        rsync(),
        new NoDatabaseStrategy(),
        List.of(),
        Clock.systemUTC(),
        System::nanoTime);
  }

  private RsyncDiskStrategy rsync() {
    return new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, runner);
  }

  private static void chmod(Path p, String mode) throws Exception {
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode.replace('t', 'x')));
    if (mode.endsWith("t")) {
      // The sticky bit (a /tmp-like root) keeps others from deleting, not from writing: still refused.
      new ProcessRunner().run(dev.snapstash.core.process.Command.of("chmod", "+t", p.toString()));
    }
  }

  private static void chown(Path p, int uid, int gid) throws Exception {
    Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
  }

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  private static int gid(Path p) throws Exception {
    return (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
  }

  private static String owner(Path p) throws Exception {
    return Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS) + ":" + Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
  }
}
