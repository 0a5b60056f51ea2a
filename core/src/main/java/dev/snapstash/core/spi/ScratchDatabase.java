package dev.snapstash.core.spi;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * A private, throw-away database that a backup's dump is restored into so that it can be queried: proof that the
 * dump restores, and the means to cross-check the database against the repositories. Removed on close.
 */
public interface ScratchDatabase extends AutoCloseable {
  /** Makes scratch databases; {@code scratchHome} is where a home-relative database (H2) lands. */
  @FunctionalInterface
  interface Factory {
    ScratchDatabase create(Path scratchHome);
  }

  /** The database strategy configured to restore into this scratch database. */
  DatabaseStrategy strategy();

  /** How a client (a drill's instance) logs in: JDBC URL, user, and a 0600 file holding the password. */
  record Access(String jdbcUrl, String user, java.nio.file.Path passwordFile) {}

  Access access();

  /** A connection to the restored database. */
  Connection connect() throws SQLException;

  @Override
  void close();
}
