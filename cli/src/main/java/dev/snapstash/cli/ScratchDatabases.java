package dev.snapstash.cli;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.ScratchDatabase;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.localdb.LocalDatabaseServer;
import dev.snapstash.core.localdb.MariaDbServer;
import dev.snapstash.core.localdb.PostgresServer;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.util.Trees;
import dev.snapstash.strategy.database.h2.H2BackupStrategy;
import dev.snapstash.strategy.database.mysql.MysqlDumpStrategy;
import dev.snapstash.strategy.database.postgresql.PostgresDumpStrategy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Private, throw-away databases of the configured kind, for {@code verify} and drills: a PostgreSQL or MariaDB
 * server of our own on a free loopback port (never the production server), or an H2 file under the scratch home.
 */
final class ScratchDatabases {
  private ScratchDatabases() {}

  static Optional<ScratchDatabase.Factory> forConfig(SnapstashConfig config, ProcessRunner runner, Path workDir) {
    return switch (config.database().type()) {
      case "postgresql" -> Optional.of(home -> server(workDir.resolve("postgresql"), true, config, runner));
      case "mysql" -> Optional.of(home -> server(workDir.resolve("mariadb"), false, config, runner));
      case "h2" -> Optional.of(home -> h2(config, home));
      default -> Optional.empty();
    };
  }

  /** A working directory that the postgres system user can enter (PostgreSQL refuses to run as root). */
  static Path workDir() {
    try {
      Path base = Path.of("/var/tmp");
      Path dir = Files.createTempDirectory(Files.isDirectory(base) ? base : Path.of(System.getProperty("java.io.tmpdir")), "snapstash-scratch-");
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
      return dir;
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create a scratch directory under /var/tmp: " + e.getMessage(), e);
    }
  }

  private static ScratchDatabase server(Path dataDir, boolean postgres, SnapstashConfig config, ProcessRunner runner) {
    LocalDatabaseServer server =
        postgres ? PostgresServer.start(dataDir, 0, runner, false) : MariaDbServer.start(dataDir, 0, runner, false);
    try {
      String password = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
      Path passwordFile = dataDir.resolveSibling(dataDir.getFileName() + ".pw");
      Files.writeString(passwordFile, password);
      Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
      server.createDatabase("bitbucket", "bitbucket", password);
      Secret secret = Secret.ofFile(passwordFile);
      DatabaseStrategy strategy;
      if (postgres) {
        var p = config.database().postgresql();
        strategy =
            new PostgresDumpStrategy(
                new SnapstashConfig.Postgresql(server.host(), server.port(), "bitbucket", "bitbucket", secret, p.jobs(), p.binDir(), p.dumpAfterUnlock()),
                runner);
      } else {
        strategy =
            new MysqlDumpStrategy(
                new SnapstashConfig.Mysql(server.host(), server.port(), "bitbucket", "bitbucket", secret), runner);
      }
      return new ScratchDatabase() {
        @Override
        public DatabaseStrategy strategy() {
          return strategy;
        }

        @Override
        public Connection connect() throws SQLException {
          return DriverManager.getConnection(server.jdbcUrl("bitbucket"), "bitbucket", password);
        }

        @Override
        public Access access() {
          return new Access(server.jdbcUrl("bitbucket"), "bitbucket", passwordFile);
        }

        @Override
        public void close() {
          server.stop();
          Trees.deleteRecursively(dataDir);
        }
      };
    } catch (IOException | RuntimeException e) {
      server.stop();
      throw e instanceof RuntimeException r ? r : SnapstashException.storage("cannot prepare a scratch database: " + e.getMessage(), e);
    }
  }

  private static ScratchDatabase h2(SnapstashConfig config, Path scratchHome) {
    var h2 = config.database().h2();
    Path restored =
        H2BackupStrategy.restorePath(H2BackupStrategy.databasePath(h2.url()), config.instance().home(), scratchHome);
    DatabaseStrategy strategy = new H2BackupStrategy(h2, config.instance().home());
    return new ScratchDatabase() {
      @Override
      public DatabaseStrategy strategy() {
        return strategy;
      }

      @Override
      public Connection connect() throws SQLException {
        return DriverManager.getConnection(
            "jdbc:h2:file:" + restored + ";IFEXISTS=TRUE", h2.username(), h2.password() == null ? "" : h2.password().reveal());
      }

      @Override
      public Access access() {
        Path pw = scratchHome.resolveSibling("h2-password");
        try {
          Files.writeString(pw, h2.password() == null ? "" : h2.password().reveal());
          Files.setPosixFilePermissions(pw, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
          throw SnapstashException.storage("cannot write " + pw + ": " + e.getMessage(), e);
        }
        return new Access("jdbc:h2:file:" + restored + ";AUTO_SERVER=TRUE", h2.username(), pw);
      }

      @Override
      public void close() {}
    };
  }
}
