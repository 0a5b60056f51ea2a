package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.util.PrivateFiles;
import dev.snapstash.strategy.database.mysql.MysqlDumpStrategy;
import dev.snapstash.strategy.database.postgresql.PostgresDumpStrategy;
import dev.snapstash.strategy.disk.rsync.RsyncDiskStrategy;
import dev.snapstash.strategy.quiesce.command.CommandQuiescer;
import dev.snapstash.testing.LoopFilesystem;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A backup root that fills up while the database is dumped (after the unlock, from the snapshot pinned under the
 * lock, for PostgreSQL) is a storage error naming {@code backup.root}, exit 9, whatever the dump tool printed:
 * pg_dump's parallel workers die with "a worker process died unexpectedly", which says nothing of space. Nothing
 * is left behind, the password file included.
 */
class FullDiskIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();
  @RegisterExtension static final MariaDbFixture MARIADB = new MariaDbFixture();

  @TempDir Path tmp;
  final ProcessRunner runner = new ProcessRunner();

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void aDumpThatFillsTheBackupRootIsAStorageErrorAndLeavesNothing(String kind) throws Exception {
    boolean pg = kind.equals("postgresql");
    TestDatabase db = pg ? PG.newDatabase() : MARIADB.newDatabase();
    // 40 MiB of random bytes, which no compression shrinks, for a 24 MiB filesystem.
    try (Connection c = db.connect(); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE payload (id INT PRIMARY KEY, data " + (pg ? "BYTEA" : "LONGBLOB") + ")");
      byte[] mib = new byte[1024 * 1024];
      Random random = new Random(7);
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO payload VALUES (?, ?)")) {
        for (int i = 0; i < 40; i++) {
          random.nextBytes(mib);
          ps.setInt(1, i);
          ps.setBytes(2, mib);
          ps.executeUpdate();
        }
      }
    }
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("shared/data/repositories/1/objects"));
    Files.writeString(home.resolve("shared/data/repositories/1/HEAD"), "ref: refs/heads/main\n");
    DatabaseStrategy database = pg
        ? new PostgresDumpStrategy(new dev.snapstash.strategy.database.postgresql.PostgresSettings(db.host(), db.port(), db.database(), db.user(), db.secret(), 2, "", true), runner)
        : new MysqlDumpStrategy(new dev.snapstash.strategy.database.mysql.MysqlSettings(db.host(), db.port(), db.database(), db.user(), db.secret()), runner);
    Quiescer quiescer = new CommandQuiescer(List.of("true"), List.of("true"), Duration.ofSeconds(10), runner, System::nanoTime);

    try (LoopFilesystem fs = LoopFilesystem.create(tmp, "ext4", 24)) {
      Path root = fs.mountPoint().resolve("backups");
      BackupEngine engine = new BackupEngine(
          new BackupEngine.Settings("bb", home, new BackupStore(root), new Retention.Policy(0, 0, 0, 0), false, 0, "t"),
          quiescer, new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, runner), database, List.of(),
          Clock.systemUTC(), System::nanoTime);

      assertThatThrownBy(() -> engine.backup(Progress.NONE))
          .isInstanceOf(SnapstashException.class)
          .hasMessageContaining("the backup target " + root + " is full")
          .hasMessageContaining("backup.root")
          .extracting(e -> ((SnapstashException) e).kind())
          .isEqualTo(ErrorKind.STORAGE);

      try (Stream<Path> left = Files.list(root)) {
        assertThat(left.map(p -> p.getFileName().toString()))
            .as("no partial backup, no journal")
            .allMatch(n -> n.equals(PrivateFiles.DIR) || n.equals(RunGuard.FILE));
      }
      if (Files.isDirectory(root.resolve(PrivateFiles.DIR))) {
        try (Stream<Path> secrets = Files.list(root.resolve(PrivateFiles.DIR))) {
          assertThat(secrets).as("the password file").isEmpty();
        }
      }
    }
  }
}
