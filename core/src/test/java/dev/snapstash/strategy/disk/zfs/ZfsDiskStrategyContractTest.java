package dev.snapstash.strategy.disk.zfs;

import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.strategy.disk.DiskStrategyContract;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The disk contract for zfs, against {@link FakeZfs}: the dataset {@code tank/bitbucket} is the directory {@code
 * pool}, the home a directory on it, its snapshots {@code cp -a} copies in {@code pool/.zfs/snapshot}. What this
 * proves is the strategy's side of the contract (journaling, clean-up, the copy out of the snapshot directory, the
 * restore); it says nothing about a real pool, which this machine's kernel cannot run.
 */
class ZfsDiskStrategyContractTest extends DiskStrategyContract {
  private FakeZfs zfs;

  @Override
  protected Path makeHome() throws Exception {
    Path pool = Files.createDirectories(tmp.resolve("pool"));
    zfs = FakeZfs.in(tmp.resolve("fake-zfs")).dataset("tank/bitbucket", pool);
    return Files.createDirectories(pool.resolve("home"));
  }

  @Override
  protected DiskStrategy strategy(Path home, Path backupRoot) {
    return new ZfsDiskStrategy(
        new ZfsSettings("tank/bitbucket", zfs.binary().toString(), "snapstash-", 1), home, true, new ProcessRunner());
  }
}
