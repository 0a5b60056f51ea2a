package dev.snapstash.core.util;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Secret files live under the backup root, private, and what a dead process left is swept; a live one's is not. */
class PrivateFilesTest {
  @TempDir Path root;

  @Test
  void filesArePrivateUnderTheBackupRootAndGoneWhenClosed() throws Exception {
    Path file;
    try (PrivateFiles p = PrivateFiles.create(root, "snapstash-pg")) {
      file = p.write("pgpass", "secret");
      assertThat(p.dir().getParent()).isEqualTo(root.resolve(PrivateFiles.DIR));
      assertThat(p.dir().getFileName().toString()).startsWith("snapstash-pg-pid" + ProcessHandle.current().pid() + "-");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p.dir()))).isEqualTo("rwx------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve(PrivateFiles.DIR)))).isEqualTo("rwx------");
    }
    assertThat(file.getParent()).doesNotExist();
    assertThat(root.resolve(PrivateFiles.DIR)).as("nothing left in the backup root").doesNotExist();
  }

  @Test
  void aSweepRemovesWhatDeadProcessesLeftAndKeepsWhatLiveOnesHold() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    assertThat(gone.waitFor(10, TimeUnit.SECONDS)).isTrue();
    Path dead = Files.createDirectories(root.resolve(PrivateFiles.DIR).resolve("snapstash-mysql-pid" + gone.pid() + "-1a2b"));
    Files.writeString(dead.resolve("client.cnf"), "[client]\npassword=\"x\"\n");
    Path other = Files.createDirectories(root.resolve(PrivateFiles.DIR).resolve("not-ours"));
    try (PrivateFiles live = PrivateFiles.create(root, "snapstash-pg")) {
      live.write("pgpass", "secret");

      assertThat(PrivateFiles.sweep(root)).isEqualTo(1);

      assertThat(dead).doesNotExist();
      assertThat(live.dir().resolve("pgpass")).exists();
      assertThat(other).exists();
    }
  }

  @Test
  void aRootThatCannotHoldItFallsBackToTheTemporaryDirectory() throws Exception {
    Path file = root.resolve("a-file");
    Files.writeString(file, "not a directory");
    try (PrivateFiles p = PrivateFiles.create(file, "snapstash-pg")) {
      assertThat(p.dir()).startsWith(Path.of(System.getProperty("java.io.tmpdir")));
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p.dir()))).isEqualTo("rwx------");
    }
  }
}
