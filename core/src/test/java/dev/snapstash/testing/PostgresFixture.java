package dev.snapstash.testing;

import dev.snapstash.core.localdb.LocalDatabaseServer;
import dev.snapstash.core.localdb.PostgresServer;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;

/**
 * A private PostgreSQL server for one test class:
 *
 * <pre>{@code
 * @RegisterExtension static final PostgresFixture pg = new PostgresFixture();
 * ... TestDatabase db = pg.newDatabase();
 * }</pre>
 */
public final class PostgresFixture extends DatabaseFixture {
  @Override
  protected void requireInstalled() {
    Tools.requireThat(PostgresServer.findBinDir().isPresent(), "the PostgreSQL server programs (initdb, postgres) are not installed");
  }

  @Override
  protected LocalDatabaseServer start(Path dataDir, ProcessRunner runner) {
    return PostgresServer.start(dataDir, 0, runner, false);
  }

  @Override
  protected String prefix() {
    return "pg";
  }
}
