package dev.snapstash.strategy.disk.rsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real rsync against a temporary home. */
class RsyncDiskStrategyTest {
  @TempDir Path tmp;

  /**
   * A push between the pre-copy and the lock rewrites a ref file in place with the same size, and on a coarse
   * timestamp clock with the same modification time: the quick check alone keeps the stale ref.
   */
  @Test
  void aRefRewrittenWithTheSameSizeAndTimeAfterThePreCopyIsStillCaught() throws Exception {
    Path home = tmp.resolve("home");
    Path ref = home.resolve("shared/data/repositories/1/refs/heads/main");
    Files.createDirectories(ref.getParent());
    Files.createDirectories(home.resolve("shared/data/repositories/1/objects"));
    Files.writeString(home.resolve("shared/data/repositories/1/HEAD"), "ref: refs/heads/main\n");
    String before = "a".repeat(40) + "\n";
    String after = "b".repeat(40) + "\n";
    Files.writeString(ref, before);
    FileTime stamp = Files.getLastModifiedTime(ref);

    RsyncRun rsync = new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, new ProcessRunner()).beginWithoutEarlyWalk();
    BackupContext ctx = new BackupContext("t", tmp.resolve("backup"), Optional.empty(), Progress.NONE);
    rsync.prepareBackup(ctx);

    Files.writeString(ref, after);
    Files.setLastModifiedTime(ref, stamp);
    TrackedDeltaTest.finish(rsync, ctx);

    assertThat(ctx.homeDir().resolve("shared/data/repositories/1/refs/heads/main")).hasContent(after.strip());
  }

  @Test
  void filesDeletedBetweenPreCopyAndLockAreDeletedFromTheBackup() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("shared"));
    Files.writeString(home.resolve("shared/gone"), "x");
    RsyncRun rsync = new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, new ProcessRunner()).beginWithoutEarlyWalk();
    BackupContext ctx = new BackupContext("t", tmp.resolve("backup"), Optional.empty(), Progress.NONE);
    rsync.prepareBackup(ctx);
    Files.delete(home.resolve("shared/gone"));
    TrackedDeltaTest.finish(rsync, ctx);
    assertThat(ctx.homeDir().resolve("shared/gone")).doesNotExist();
  }

  /**
   * The cp -a path into an empty target keeps what a Bitbucket home relies on: permissions, numeric owners, times,
   * hard links inside the tree, symbolic links, extended attributes and ACLs; the forced path (rsync) does too.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
  void aRestoreKeepsOwnersPermissionsHardLinksXattrsAndAcls(boolean intoNonEmptyTarget) throws Exception {
    ProcessRunner runner = new ProcessRunner();
    Path backup = tmp.resolve("backup");
    Path home = backup.resolve("home");
    Path repo = home.resolve("shared/data/repositories/1/objects/ab");
    Files.createDirectories(repo);
    Path object = repo.resolve("cdef");
    Files.writeString(object, "object");
    Files.setPosixFilePermissions(object, java.nio.file.attribute.PosixFilePermissions.fromString("r--r-----"));
    Files.createLink(home.resolve("shared/data/repositories/1/objects/ab/linked"), object);
    Files.createSymbolicLink(home.resolve("shared/latest"), Path.of("data/repositories/1"));
    Path props = home.resolve("shared/bitbucket.properties");
    Files.writeString(props, "a=b\n");
    Files.setLastModifiedTime(props, FileTime.fromMillis(1_600_000_000_000L));
    var xattrs = Files.getFileAttributeView(props, java.nio.file.attribute.UserDefinedFileAttributeView.class);
    xattrs.write("snapstash.test", java.nio.ByteBuffer.wrap("kept".getBytes()));
    // setfacl comes with the Debian package acl (.ci/run installs it).
    runner.run(dev.snapstash.core.process.Command.of("setfacl", "-m", "u:65534:r", props.toString()));
    boolean root = "root".equals(System.getProperty("user.name"));
    if (!root && dev.snapstash.testing.Tools.requireAll()) {
      // Without root the owner is not restored, and that half of the test would pass by asserting nothing.
      throw new AssertionError("only root can give a file another owner (chown), and snapstash.requireAll=true forbids leaving that unchecked");
    }
    if (root) {
      runner.run(dev.snapstash.core.process.Command.of("chown", "-h", "12345:23456", props.toString()));
    }

    Path target = tmp.resolve("target");
    if (intoNonEmptyTarget) {
      Files.createDirectories(target);
      Files.writeString(target.resolve("extra"), "gone after a forced restore");
    }
    new RsyncDiskStrategy(tmp.resolve("unused"), List.of(), true, true, false, true, true, 1, runner)
        .restore(new dev.snapstash.core.spi.RestoreContext("t", backup, target, intoNonEmptyTarget, Progress.NONE));

    Path restored = target.resolve("shared/bitbucket.properties");
    Path restoredObject = target.resolve("shared/data/repositories/1/objects/ab/cdef");
    assertThat(restored).hasContent("a=b\n");
    assertThat(Files.getLastModifiedTime(restored).toMillis()).isEqualTo(1_600_000_000_000L);
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(restoredObject))).isEqualTo("r--r-----");
    assertThat(Files.getAttribute(restoredObject, "unix:ino"))
        .isEqualTo(Files.getAttribute(target.resolve("shared/data/repositories/1/objects/ab/linked"), "unix:ino"));
    assertThat(Files.readSymbolicLink(target.resolve("shared/latest"))).isEqualTo(Path.of("data/repositories/1"));
    var restoredXattrs = Files.getFileAttributeView(restored, java.nio.file.attribute.UserDefinedFileAttributeView.class);
    java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(16);
    restoredXattrs.read("snapstash.test", buf);
    assertThat(new String(buf.array(), 0, buf.position())).isEqualTo("kept");
    String acl = runner.run(dev.snapstash.core.process.Command.of("getfacl", "-n", restored.toString()).capturingStdout()).stdout();
    assertThat(acl).contains("user:65534:r--");
    if (root) {
      assertThat(Files.getAttribute(restored, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).isEqualTo(12345);
      assertThat(Files.getAttribute(restored, "unix:gid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).isEqualTo(23456);
    }
    assertThat(target.resolve("extra")).doesNotExist();
  }
}
