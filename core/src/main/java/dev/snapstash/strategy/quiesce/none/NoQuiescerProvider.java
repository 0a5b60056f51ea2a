package dev.snapstash.strategy.quiesce.none;

import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;

/** {@code quiesce.type: none}: no lock (zero-downtime mode). */
public final class NoQuiescerProvider implements Provider<Provider.NoSettings, Quiescer> {
  @Override
  public StrategyKind kind() {
    return StrategyKind.QUIESCE;
  }

  @Override
  public String name() {
    return "none";
  }

  @Override
  public String summary() {
    return "no lock at all (zero-downtime mode), which needs a disk strategy that captures the home at one instant";
  }

  @Override
  public Class<NoSettings> settingsType() {
    return NoSettings.class;
  }

  @Override
  public Quiescer create(NoSettings settings, Services services) {
    return new NoQuiescer();
  }
}
