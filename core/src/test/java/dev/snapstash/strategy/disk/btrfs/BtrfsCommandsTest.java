package dev.snapstash.strategy.disk.btrfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BtrfsCommandsTest {
  @Test
  void snapshotsUnderTheLockAreReadOnlyAndRestoresWritable() {
    assertThat(BtrfsCommands.snapshotReadOnly(Path.of("/h"), Path.of("/s/t/home")).argv())
        .containsExactly("btrfs", "subvolume", "snapshot", "-r", "/h", "/s/t/home");
    assertThat(BtrfsCommands.snapshotWritable(Path.of("/b/t/home"), Path.of("/r")).argv())
        .containsExactly("btrfs", "subvolume", "snapshot", "/b/t/home", "/r");
  }

  @Test
  void sendIsIncrementalOnlyWithAParent() {
    assertThat(BtrfsCommands.send(Path.of("/s/b/home"), Optional.empty()).argv())
        .containsExactly("btrfs", "send", "-q", "/s/b/home");
    assertThat(BtrfsCommands.send(Path.of("/s/b/home"), Optional.of(Path.of("/s/a/home"))).argv())
        .containsExactly("btrfs", "send", "-q", "-p", "/s/a/home", "/s/b/home");
    assertThat(BtrfsCommands.receive(Path.of("/backups/b")).argv()).containsExactly("btrfs", "receive", "-q", "/backups/b");
  }

  @Test
  void deletionDoesNotWaitForACommit() {
    assertThat(BtrfsCommands.delete(Path.of("/s/a/home")).argv()).containsExactly("btrfs", "subvolume", "delete", "/s/a/home");
  }

  @Test
  void nestedSubvolumePathsAreReadRelativeToTheHome() {
    assertThat(BtrfsDiskStrategy.relativeTo("sandbox/home", "sandbox/home/caches")).isEqualTo("caches");
    assertThat(BtrfsDiskStrategy.relativeTo("home", "home/shared/data/x")).isEqualTo("shared/data/x");
    // The home is the filesystem's top level.
    assertThat(BtrfsDiskStrategy.relativeTo("<FS_TREE>", "tmp")).isEqualTo("tmp");
  }

  @Test
  void badSettingsNameTheirKey() {
    ProcessRunner runner = new ProcessRunner();
    assertThatThrownBy(() -> new BtrfsDiskStrategy(new dev.snapstash.strategy.disk.btrfs.BtrfsSettings("", "zfs", 1), Path.of("/h"), Path.of("/b"), true, runner))
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining("disk.btrfs.transfer")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.CONFIG);
    assertThatThrownBy(() -> new BtrfsDiskStrategy(new dev.snapstash.strategy.disk.btrfs.BtrfsSettings("", "auto", 0), Path.of("/h"), Path.of("/b"), true, runner))
        .hasMessageContaining("disk.btrfs.keep-snapshots must be at least 1");
  }

  @Test
  void snapshotsLiveNextToTheHomeByDefault() {
    var s = new BtrfsDiskStrategy(null, Path.of("/srv/bitbucket/home"), Path.of("/b"), true, new ProcessRunner());
    assertThat(s.snapshotDirectory()).isEqualTo(Path.of("/srv/bitbucket/.snapstash-snapshots"));
    assertThat(s.snapshotOf("x-20261130-080000")).isEqualTo(Path.of("/srv/bitbucket/.snapstash-snapshots/x-20261130-080000/home"));
    assertThat(s.capabilities()).contains(dev.snapstash.core.spi.Capability.ATOMIC_CAPTURE);
  }
}
