package dev.snapstash.strategy.database.none;

import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.RestoreContext;

/** No database is backed up or restored ({@code database.type: none}): the null object. */
public final class NoDatabaseStrategy implements DatabaseStrategy {
  public static final String NAME = "none";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public void check(Findings findings) {
    findings.ok(NAME, "no database is backed up (database.type is none)");
  }

  @Override
  public CopyResult backup(BackupContext context) {
    return CopyResult.empty(NAME);
  }

  @Override
  public void prepareRestore(RestoreContext context) {}

  @Override
  public void restore(RestoreContext context) {}
}
