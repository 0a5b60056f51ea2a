package dev.snapstash.strategy.disk.zfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.Providers;
import dev.snapstash.core.spi.StrategyKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The strategy reached the way a user reaches it: {@code disk.type: zfs} in a configuration file, through the
 * provider list and the facade, with nothing in the engine or the command line that knows its name. Against
 * {@link FakeZfs}: untested on a real pool.
 */
class ZfsProviderTest {
  @TempDir Path tmp;

  private static String yaml(Path home, Path root, String zfs) {
    return """
        instance:
          name: prod
          home: %s
        backup:
          root: %s
        quiesce:
          type: none
        disk:
          type: zfs
          zfs:
            dataset: tank/bitbucket
            binary: %s
            keep-snapshots: 1
        """.formatted(home, root, zfs);
  }

  private static String errors(String yaml) {
    try {
      ConfigLoader.parse(yaml, "snapstash.yml", Path.of("/"), Map.of());
    } catch (SnapstashException e) {
      assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
      return e.getMessage();
    }
    throw new AssertionError("expected the configuration to be rejected");
  }

  @Test
  void theProviderIsListedAndOwnsItsJournalName() {
    assertThat(Providers.find(StrategyKind.DISK, "zfs")).get().isInstanceOf(ZfsProvider.class);
    assertThat(Providers.undoTypes()).containsEntry("destroy-zfs-snapshot", DestroySnapshot.class);
  }

  @Test
  void aWrongValueIsReportedWithItsFileLineAndKey() {
    String base = yaml(Path.of("/tank/bitbucket"), Path.of("/backups"), "zfs");
    assertThat(errors(base.replace("dataset: tank/bitbucket", "dataset: tank")))
        .isEqualTo("snapstash.yml:11: disk.zfs.dataset: 'tank' is a whole pool: give the home a file system of its own"
            + " (zfs create tank/bitbucket-home) and name it as pool/path");
    assertThat(errors(base.replace("dataset: tank/bitbucket", "dataset: tank/bitbucket@daily")))
        .startsWith("snapstash.yml:11: disk.zfs.dataset: 'tank/bitbucket@daily' names a snapshot, not a dataset");
    assertThat(errors(base.replace("keep-snapshots: 1", "keep-snapshots: -1")))
        .isEqualTo("snapstash.yml:13: disk.zfs.keep-snapshots: '-1' must not be negative");
    assertThat(errors(base.replace("keep-snapshots: 1", "snapshot-prefix: \"a b\"")))
        .startsWith("snapstash.yml:13: disk.zfs.snapshot-prefix: 'a b' must be 1 to 40 letters");
  }

  /** A whole backup and restore through the facade, without a lock: the snapshot is atomic, so that is allowed. */
  @Test
  void aBackupAndRestoreThroughTheFacade() throws IOException {
    Path pool = Files.createDirectories(tmp.resolve("pool"));
    Path home = Files.createDirectories(pool.resolve("home"));
    Files.createDirectories(home.resolve("shared"));
    Files.writeString(home.resolve("shared/bitbucket.properties"), "setup.displayName=zfs\n");
    Path root = Files.createDirectories(tmp.resolve("backups"));
    FakeZfs zfs = FakeZfs.in(tmp.resolve("fake-zfs")).dataset("tank/bitbucket", pool);
    SnapstashConfig config = ConfigLoader.parse(yaml(home, root, zfs.binary().toString()), "snapstash.yml", tmp, Map.of());
    Snapstash snapstash = Snapstash.configure(config).runner(new ProcessRunner()).build();

    Findings findings = snapstash.check();
    assertThat(findings.problems()).isEmpty();
    Manifest manifest = snapstash.backup(Progress.NONE);
    assertThat(manifest.strategies()).containsEntry("disk", "zfs");
    assertThat(zfs.callLines()).contains("snapshot tank/bitbucket@snapstash-" + manifest.tag());
    assertThat(root.resolve(manifest.tag()).resolve("home/shared/bitbucket.properties")).hasContent("setup.displayName=zfs");

    Path target = tmp.resolve("restored");
    snapstash.restore(Snapstash.RestoreRequest.into(manifest.tag(), target), Progress.NONE);
    assertThat(Files.readString(target.resolve("shared/bitbucket.properties")))
        .as("restored, and marked as a copy taken without a lock, as for any atomic disk strategy")
        .startsWith("setup.displayName=zfs\n")
        .contains("disaster.recovery=true");
  }
}
