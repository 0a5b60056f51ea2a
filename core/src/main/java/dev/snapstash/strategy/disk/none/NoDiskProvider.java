package dev.snapstash.strategy.disk.none;

import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;

/** {@code disk.type: none}. */
public final class NoDiskProvider implements Provider<Provider.NoSettings, DiskStrategy> {
  @Override
  public StrategyKind kind() {
    return StrategyKind.DISK;
  }

  @Override
  public String name() {
    return "none";
  }

  @Override
  public String summary() {
    return "the home is not copied (another tool copies it, or the database strategy's snapshot covers it)";
  }

  @Override
  public Class<NoSettings> settingsType() {
    return NoSettings.class;
  }

  @Override
  public DiskStrategy create(NoSettings settings, Services services) {
    return new NoDiskStrategy();
  }
}
