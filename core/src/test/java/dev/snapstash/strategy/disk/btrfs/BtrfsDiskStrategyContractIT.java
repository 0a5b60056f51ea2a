package dev.snapstash.strategy.disk.btrfs;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.strategy.disk.DiskStrategyContract;
import dev.snapstash.testing.LoopFilesystem;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;

/**
 * The disk contract for btrfs, on a real btrfs on a loop device: the home is a subvolume, its snapshots go beside
 * it, and the backups onto the same filesystem, so the copy out of the snapshot is a send and receive. Without
 * root, loop devices or btrfs in the kernel it is skipped with the reason (a failure with snapstash.requireAll).
 */
class BtrfsDiskStrategyContractIT extends DiskStrategyContract {
  private final ProcessRunner runner = new ProcessRunner();
  private LoopFilesystem fs;

  @Override
  protected Path makeHome() throws Exception {
    fs = LoopFilesystem.create(Files.createDirectories(tmp.resolve("loop")), "btrfs", 300);
    Path home = fs.mountPoint().resolve("home");
    runner.run(Command.of("btrfs", "subvolume", "create", home.toString()).discardingStdout());
    return home;
  }

  @Override
  protected Path backupRoot() throws Exception {
    return Files.createDirectories(fs.mountPoint().resolve("backups"));
  }

  @Override
  protected DiskStrategy strategy(Path home, Path backupRoot) {
    return new BtrfsDiskStrategy(new BtrfsSettings("", "auto", 1), home, backupRoot, true, runner);
  }

  @AfterEach
  void unmount() {
    if (fs != null) {
      fs.close();
    }
  }
}
