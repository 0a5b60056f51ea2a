package dev.snapstash.strategy.database.collocated;

import dev.snapstash.core.spi.DatabaseProvider;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Services;

/** {@code database.type: collocated}: the data directory is in the home, and the disk copy covers it. */
public final class CollocatedProvider implements DatabaseProvider<CollocatedSettings> {
  @Override
  public String name() {
    return "collocated";
  }

  @Override
  public String summary() {
    return "the database's data directory lies in the copied home or volume and is covered by its snapshot";
  }

  @Override
  public Class<CollocatedSettings> settingsType() {
    return CollocatedSettings.class;
  }

  @Override
  public DatabaseStrategy create(CollocatedSettings s, Services services) {
    return new CollocatedDatabaseStrategy(s, services.instance().home());
  }
}
