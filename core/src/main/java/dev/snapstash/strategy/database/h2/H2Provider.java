package dev.snapstash.strategy.database.h2;

import dev.snapstash.core.spi.DatabaseProvider;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Services;

/** {@code database.type: h2}: the embedded evaluation database, inside the home. */
public final class H2Provider implements DatabaseProvider<H2Settings> {
  @Override
  public String name() {
    return H2BackupStrategy.NAME;
  }

  @Override
  public String summary() {
    return "the embedded evaluation database, copied with H2's own BACKUP TO";
  }

  @Override
  public Class<H2Settings> settingsType() {
    return H2Settings.class;
  }

  @Override
  public DatabaseStrategy create(H2Settings s, Services services) {
    return new H2BackupStrategy(s, services.instance().home());
  }
}
