package dev.snapstash.strategy.disk.none;

import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.strategy.disk.DiskStrategyContract;
import java.nio.file.Path;

/** The null object honours the contract too: it copies, leaves and refuses nothing. */
class NoDiskStrategyContractTest extends DiskStrategyContract {
  @Override
  protected DiskStrategy strategy(Path home, Path backupRoot) {
    return new NoDiskStrategy();
  }
}
