package dev.snapstash.strategy.database;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.localdb.LocalDatabaseServer;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.ScratchDatabase;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A scratch database on a private server of snapstash's own (PostgreSQL or MariaDB, on a free loopback port), never
 * the configured one: what the dump-based strategies restore into for {@code verify} and drills.
 */
public final class ScratchServers {
  private ScratchServers() {}

  /** How the scratch database is reached, for the strategy that restores into it. */
  public record Login(String host, int port, String database, String user, Secret password) {}

  /**
   * Starts the server and makes database {@code bitbucket}, owned by user {@code bitbucket} with a random password
   * in a 0600 file; the returned scratch database stops the server and removes {@code dataDir} on close.
   *
   * @param start starts the server in {@code dataDir}
   * @param strategyFor the strategy configured to restore into the scratch database
   */
  public static ScratchDatabase start(
      Path dataDir, Supplier<LocalDatabaseServer> start, Function<Login, DatabaseStrategy> strategyFor) {
    LocalDatabaseServer server = start.get();
    try {
      String password = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
      Path passwordFile = dataDir.resolveSibling(dataDir.getFileName() + ".pw");
      Files.writeString(passwordFile, password);
      Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
      server.createDatabase("bitbucket", "bitbucket", password);
      DatabaseStrategy strategy =
          strategyFor.apply(new Login(server.host(), server.port(), "bitbucket", "bitbucket", Secret.ofFile(passwordFile)));
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
}
