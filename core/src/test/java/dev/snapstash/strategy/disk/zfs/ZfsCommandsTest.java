package dev.snapstash.strategy.disk.zfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ZfsCommandsTest {
  @Test
  void listingsRunInScriptingModeWithExactNumbers() {
    assertThat(ZfsCommands.snapshots("zfs", "tank/bb").argv())
        .containsExactly("zfs", "list", "-H", "-p", "-t", "snapshot", "-o", "name,creation", "-s", "creation", "-d", "1", "tank/bb");
    assertThat(ZfsCommands.mountpoint("zfs", "tank/bb").argv())
        .containsExactly("zfs", "get", "-H", "-p", "-o", "value", "mountpoint", "tank/bb");
    assertThat(ZfsCommands.properties("/usr/sbin/zfs", "tank/bb").argv())
        .containsExactly("/usr/sbin/zfs", "get", "-H", "-p", "-o", "property,value", "type,mountpoint,mounted", "tank/bb");
    assertThat(ZfsCommands.fileSystems("zfs", "tank/bb").argv())
        .containsExactly("zfs", "list", "-H", "-p", "-o", "name,mountpoint", "-r", "-t", "filesystem", "tank/bb");
    assertThat(ZfsCommands.exists("zfs", "tank/bb@snapstash-x").argv())
        .containsExactly("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "tank/bb@snapstash-x");
    assertThat(ZfsCommands.version("zfs").stdout()).isEqualTo(Command.Output.CAPTURE);
  }

  @Test
  void aSnapshotIsOneDatasetNeverRecursive() {
    assertThat(ZfsCommands.snapshot("zfs", "tank/bb@snapstash-bb-20261207-224000").argv())
        .containsExactly("zfs", "snapshot", "tank/bb@snapstash-bb-20261207-224000");
    assertThat(ZfsCommands.snapshotName("tank/bb", "snapstash-t")).isEqualTo("tank/bb@snapstash-t");
  }

  @Test
  void destroyTakesOnlyASnapshotAndNoOptions() {
    assertThat(ZfsCommands.destroy("zfs", "tank/bb@snapstash-t").argv()).containsExactly("zfs", "destroy", "tank/bb@snapstash-t");
    for (String notASnapshot : new String[] {"tank/bb", "tank/bb@", "@snap", "-r", "-R tank@x", "tank@a@b"}) {
      assertThatThrownBy(() -> ZfsCommands.destroy("zfs", notASnapshot))
          .as(notASnapshot)
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> ZfsCommands.snapshotName("tank/bb@x", "y")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aDatasetMustBePoolAndPath() {
    assertThat(ZfsSettings.datasetProblem("tank/bitbucket-home")).isEmpty();
    assertThat(ZfsSettings.datasetProblem("tank/srv/bitbucket_home.1:a")).isEmpty();
    assertThat(ZfsSettings.datasetProblem("tank")).get().asString().contains("whole pool");
    assertThat(ZfsSettings.datasetProblem("tank/bb@daily")).get().asString().contains("snapshot");
    assertThat(ZfsSettings.datasetProblem("tank/bb#mark")).get().asString().contains("bookmark");
    assertThat(ZfsSettings.datasetProblem("/tank/bb")).get().asString().contains("mount point");
    assertThat(ZfsSettings.datasetProblem("tank//bb")).get().asString().contains("empty component");
    assertThat(ZfsSettings.datasetProblem("tank/bb/")).get().asString().contains("empty component");
    assertThat(ZfsSettings.datasetProblem("1tank/bb")).get().asString().contains("pool name");
    assertThat(ZfsSettings.datasetProblem("tank/b b")).get().asString().contains("'b b'");
    assertThat(ZfsSettings.datasetProblem("")).get().asString().contains("is empty");
    assertThat(ZfsSettings.datasetProblem("tank/" + "a".repeat(200))).get().asString().contains("too long");
    assertThat(ZfsSettings.prefixProblem("snapstash-")).isEmpty();
    assertThat(ZfsSettings.prefixProblem("")).get().asString().contains("is empty");
    assertThat(ZfsSettings.prefixProblem("snap@")).isPresent();
  }

  @Test
  void badSettingsNameTheirKey() {
    ProcessRunner runner = new ProcessRunner();
    Path home = Path.of("/tank/bb");
    assertThatThrownBy(() -> new ZfsDiskStrategy(new ZfsSettings("tank/bb@x", "zfs", "snapstash-", 1), home, true, runner))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
        .hasMessageStartingWith("disk.zfs.dataset 'tank/bb@x' names a snapshot");
    assertThatThrownBy(() -> new ZfsDiskStrategy(new ZfsSettings("", "zfs", "snapstash-", 1), home, true, runner))
        .hasMessageStartingWith("disk.zfs.dataset '' is empty");
    assertThatThrownBy(() -> new ZfsDiskStrategy(new ZfsSettings(null, "zfs", "snapstash-", 1), home, true, runner))
        .hasMessageStartingWith("disk.zfs.dataset '' is empty");
    assertThatThrownBy(() -> new ZfsDiskStrategy(new ZfsSettings("tank/bb", " ", "snapstash-", 1), home, true, runner))
        .hasMessageStartingWith("disk.zfs.binary is empty");
    assertThatThrownBy(() -> new ZfsDiskStrategy(new ZfsSettings("tank/bb", "zfs", "a/b", 1), home, true, runner))
        .hasMessageStartingWith("disk.zfs.snapshot-prefix 'a/b'");
    assertThatThrownBy(() -> new ZfsDiskStrategy(new ZfsSettings("tank/bb", "zfs", "snapstash-", -1), home, true, runner))
        .hasMessageStartingWith("disk.zfs.keep-snapshots must not be negative");
  }

  @Test
  void snapshotsAreNamedByPrefixAndTagAndTheCaptureIsAtomicWithoutAFreeze() {
    var s = new ZfsDiskStrategy(new ZfsSettings("tank/bb", "zfs", "snapstash-", 1), Path.of("/tank/bb"), true, new ProcessRunner());
    assertThat(s.snapshotOf("bb-20261207-224000")).isEqualTo("tank/bb@snapstash-bb-20261207-224000");
    assertThat(s.capabilities())
        .contains(dev.snapstash.core.spi.Capability.ATOMIC_CAPTURE, dev.snapstash.core.spi.Capability.COPIES_HOME)
        .doesNotContain(dev.snapstash.core.spi.Capability.NEEDS_FREEZE);
  }
}
