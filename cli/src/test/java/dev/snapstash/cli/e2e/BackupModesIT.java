package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.engine.HomeChecksums;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.engine.RunGuard;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import dev.snapstash.testing.Tools;
import dev.snapstash.testing.Umask;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who can read a backup, through the real jar started from a shell with a given umask, as cron or an
 * administrator's login shell starts it: the backup root, each backup and everything snapstash and pg_dump write
 * in it are the owner's only (or {@code backup.group}'s); an unsafe root is refused and {@code check} says what to
 * fix.
 */
class BackupModesIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();

  @TempDir Path tmp;

  @Test
  void aBackupUnderUmask022IsItsOwnersOnlyAndCheckAndThePreflightJudgeTheRoot() throws Exception {
    TestDatabase db = PG.newDatabase();
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.POSTGRESQL, db)) {
      assertThat(s.backups()).as("the root is snapstash's to create").doesNotExist();
      Run r = jar("022", s.config(), "backup");
      assertThat(r.exit()).as(r.output()).isZero();

      Path dir = single(s.backupDirs());
      assertThat(mode(s.backups())).isEqualTo("rwx------");
      assertThat(mode(dir)).isEqualTo("rwx------");
      assertThat(mode(dir.resolve(Manifest.FILE))).isEqualTo("rw-------");
      assertThat(mode(dir.resolve(HomeChecksums.FILE))).isEqualTo("rw-------");
      assertThat(mode(s.backups().resolve(RunGuard.FILE))).isEqualTo("rw-------");
      List<Path> dump = under(dir.resolve("database"));
      assertThat(dump).as("pg_dump's files").anySatisfy(p -> assertThat(p.getFileName().toString()).isEqualTo("toc.dat"));
      assertThat(dump).allSatisfy(p ->
          assertThat(mode(p)).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------"));
      Path home = s.sandbox.layout().home();
      assertThat(mode(dir.resolve("home"))).as("the home's own mode, not the backup's").isEqualTo(mode(home));
      assertThat(owner(dir.resolve("home"))).isEqualTo(owner(home));

      Scenario.Run check = snapstash("-c", s.config().toString(), "check");
      assertThat(check.exit()).as(check.err()).isZero();
      assertThat(check.out()).doesNotContain("WARN");

      chmod(s.backups(), "rwxr-xr-x");
      check = snapstash("-c", s.config().toString(), "check");
      assertThat(check.exit()).as("a warning is no failure: " + check.err()).isZero();
      assertThat(check.out()).contains("WARN  backup.root: " + s.backups() + " is readable by other users (mode 0755)")
          .contains("run `chmod o-rwx " + s.backups() + "`");

      chmod(s.backups(), "rwxrwxrwx");
      List<Path> before = under(s.backups());
      var task = s.sandbox.maintenance().task();
      Scenario.Run refused = snapstash("-c", s.config().toString(), "backup");
      assertThat(refused.exit()).isEqualTo(7);
      assertThat(refused.err())
          .contains("backup.root: " + s.backups() + " is writable by other users (mode 0777)")
          .contains("run `chmod go-w " + s.backups() + "`")
          .doesNotContain("Exception");
      assertThat(under(s.backups())).as("the refused run wrote nothing").isEqualTo(before);
      assertThat(s.sandbox.maintenance().task()).as("never locked: the first backup's task is the last").isEqualTo(task);
      check = snapstash("-c", s.config().toString(), "check");
      assertThat(check.exit()).isEqualTo(7);
      assertThat(check.out()).contains("FAIL  backup.root: ");
    }
  }

  /** The group's bits come from snapstash, not from the umask: a strict 077 cannot take them away. */
  @Test
  void withBackupGroupTheGroupCanReadTheBackupUnderAStrictUmask() throws Exception {
    Tools.requireThat(Umask.root(tmp), "giving files to any group (chgrp) needs root");
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      Path config = s.configWithBackupKeys("group: 4242");
      Run r = jar("077", config, "backup");
      assertThat(r.exit()).as(r.output()).isZero();

      Path dir = single(s.backupDirs());
      for (Path p : List.of(s.backups(), dir)) {
        assertThat(mode(p)).as(p.toString()).isEqualTo("rwxr-x---");
        assertThat(gid(p)).as(p.toString()).isEqualTo(4242);
      }
      List<Path> own = new ArrayList<>(List.of(dir.resolve(Manifest.FILE), dir.resolve(HomeChecksums.FILE)));
      own.addAll(under(dir.resolve("database")));
      assertThat(own).allSatisfy(p -> {
        assertThat(mode(p)).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwxr-x---" : "rw-r-----");
        assertThat(gid(p)).as(p.toString()).isEqualTo(4242);
      });
      assertThat(mode(dir.resolve("home"))).isEqualTo(mode(s.sandbox.layout().home()));

      Scenario.Run unknown = snapstash("-c", s.configWithBackupKeys("group: no-such-group-here").toString(), "check");
      assertThat(unknown.exit()).isEqualTo(3);
      assertThat(unknown.err()).contains("backup.group: 'no-such-group-here' is not a group on this host");
    }
  }

  record Run(int exit, String output) {}

  /** {@code java -jar snapstash.jar -c CONFIG ARGS} from {@code sh} after {@code umask MASK}. */
  private Run jar(String mask, Path config, String... args) throws Exception {
    Path jar = Path.of("target/snapstash.jar");
    assertThat(jar).as("the shaded jar (built by package)").exists();
    List<String> argv = new ArrayList<>(List.of("sh", "-c", "umask " + mask + " && exec \"$0\" \"$@\""));
    argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    argv.addAll(List.of("-jar", jar.toString(), "-c", config.toString()));
    argv.addAll(List.of(args));
    Path out = Files.createTempFile(tmp, "jar", ".log");
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("snapstash " + String.join(" ", args) + " did not finish:\n" + Files.readString(out));
    }
    return new Run(p.exitValue(), Files.readString(out));
  }

  private static Path single(List<Path> dirs) {
    assertThat(dirs).hasSize(1);
    return dirs.get(0);
  }

  private static List<Path> under(Path dir) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.sorted().toList();
    }
  }

  private static void chmod(Path p, String mode) throws Exception {
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
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
