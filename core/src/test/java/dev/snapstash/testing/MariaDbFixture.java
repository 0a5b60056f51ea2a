package dev.snapstash.testing;

import dev.snapstash.core.localdb.LocalDatabaseServer;
import dev.snapstash.core.localdb.MariaDbServer;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;

/**
 * A private MariaDB server for one test class:
 *
 * <pre>{@code
 * @RegisterExtension static final MariaDbFixture mariadb = new MariaDbFixture();
 * ... TestDatabase db = mariadb.newDatabase();
 * }</pre>
 */
public final class MariaDbFixture extends DatabaseFixture {
  @Override
  protected void requireInstalled() {
    Tools.requireThat(MariaDbServer.installed(), "the MariaDB server programs (mariadbd, mariadb-install-db) are not installed");
  }

  @Override
  protected LocalDatabaseServer start(Path dataDir, ProcessRunner runner) {
    return MariaDbServer.start(dataDir, 0, runner, false);
  }

  @Override
  protected String prefix() {
    return "mariadb";
  }
}
