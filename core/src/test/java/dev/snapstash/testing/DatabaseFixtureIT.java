package dev.snapstash.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.localdb.PostgresServer;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DatabaseFixtureIT {
  @Test
  void reapsTheServerOfAKilledTestJvmAndLeavesLiveOnesAlone() throws Exception {
    Tools.requireThat(PostgresServer.findBinDir().isPresent(), "the PostgreSQL server programs are not installed");
    ProcessRunner runner = new ProcessRunner();
    Path orphan = TestDirs.newEnterableDir("orphan");
    Path mine = TestDirs.newEnterableDir("mine");
    PostgresServer server = PostgresServer.start(orphan.resolve("data"), 0, runner, false);
    try {
      Process gone = new ProcessBuilder("true").start();
      gone.waitFor();
      Files.writeString(orphan.resolve("owner.pid"), gone.pid() + " 0\n");

      DatabaseFixture.reapOrphans(runner);

      assertThat(server.isRunning()).isFalse();
      assertThat(orphan).doesNotExist();
      assertThat(mine).exists();
    } finally {
      server.stop();
      TestDirs.deleteRecursively(orphan);
      TestDirs.deleteRecursively(mine);
    }
  }
}
