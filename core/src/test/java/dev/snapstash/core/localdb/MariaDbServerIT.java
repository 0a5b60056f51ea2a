package dev.snapstash.core.localdb;

import dev.snapstash.testing.Tools;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

class MariaDbServerIT extends LocalDatabaseServerContract {
  @Override
  protected void requireInstalled() {
    Tools.requireThat(MariaDbServer.installed(), "the MariaDB server programs are not installed");
  }

  @Override
  protected LocalDatabaseServer start(Path dataDir, int port) {
    return MariaDbServer.start(dataDir, port, runner, false);
  }

  @Override
  protected Optional<? extends LocalDatabaseServer> running(Path dataDir) {
    return MariaDbServer.running(dataDir, runner);
  }

  @Override
  protected Set<String> programNames() {
    return Set.of("mariadbd", "mysqld");
  }
}
