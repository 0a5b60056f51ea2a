package dev.snapstash.strategy.database.none;

import dev.snapstash.core.spi.DatabaseProvider;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Services;

/** {@code database.type: none}. */
public final class NoDatabaseProvider implements DatabaseProvider<Provider.NoSettings> {
  @Override
  public String name() {
    return "none";
  }

  @Override
  public String summary() {
    return "the database is not copied";
  }

  @Override
  public Class<NoSettings> settingsType() {
    return NoSettings.class;
  }

  @Override
  public DatabaseStrategy create(NoSettings settings, Services services) {
    return new NoDatabaseStrategy();
  }
}
