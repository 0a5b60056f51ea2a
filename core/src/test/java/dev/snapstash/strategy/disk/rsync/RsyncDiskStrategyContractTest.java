package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.strategy.disk.DiskStrategyContract;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Nested;

/** The disk contract for rsync as configured by default (pre-copy, tracked delta), and without a pre-copy. */
class RsyncDiskStrategyContractTest extends DiskStrategyContract {
  @Override
  protected DiskStrategy strategy(Path home, Path backupRoot) {
    return new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, new ProcessRunner());
  }

  /** One rsync under the lock that walks the whole home: no tracker, no pre-copy to take over. */
  @Nested
  class WithoutPreCopy extends DiskStrategyContract {
    @Override
    protected DiskStrategy strategy(Path home, Path backupRoot) {
      return new RsyncDiskStrategy(home, List.of(), true, true, false, false, false, 1, new ProcessRunner());
    }
  }
}
