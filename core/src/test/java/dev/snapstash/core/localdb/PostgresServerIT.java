package dev.snapstash.core.localdb;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.testing.Tools;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresServerIT extends LocalDatabaseServerContract {
  @Override
  protected void requireInstalled() {
    Tools.requireThat(PostgresServer.findBinDir().isPresent(), "the PostgreSQL server programs are not installed");
  }

  @Override
  protected LocalDatabaseServer start(Path dataDir, int port) {
    return PostgresServer.start(dataDir, port, runner, false);
  }

  @Override
  protected Optional<? extends LocalDatabaseServer> running(Path dataDir) {
    return PostgresServer.running(dataDir, runner);
  }

  @Override
  protected Set<String> programNames() {
    return Set.of("postgres", "runuser");
  }

  @Test
  void namesTheDirectoryThePostgresUserCannotEnter(@TempDir Path privateDir) {
    Tools.requireThat("root".equals(System.getProperty("user.name")), "only root runs PostgreSQL as another user");
    assertThatThrownBy(() -> PostgresServer.start(privateDir.resolve("data"), 0, runner, false))
        .isInstanceOfSatisfying(SnapstashException.class, e -> org.assertj.core.api.Assertions.assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION))
        .hasMessageContaining("cannot enter " + privateDir);
  }
}
