package dev.snapstash.testing;

import dev.snapstash.core.config.Secret;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;

/**
 * A fresh database on a private test server, owned by its own user with a password.
 *
 * @param kind "postgresql" or "mariadb"
 * @param passwordFile a 0600 file holding {@link #password()} (for {@link #secret()})
 */
public record TestDatabase(
    String kind, String host, int port, String database, String user, String password, Path passwordFile, String jdbcUrl) {

  /** The password as a configuration would reference it: {@code ${file:...}}. */
  public Secret secret() {
    return Secret.ofFile(passwordFile);
  }

  /** The password as {@code ${env:NAME}}, resolved from a private map rather than the process environment. */
  public Secret secretFromEnv(String name) {
    return Secret.ofEnv(name, Map.of(name, password));
  }

  /** A connection as the database's owner. */
  public Connection connect() throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("password", password);
    return DriverManager.getConnection(jdbcUrl, p);
  }

  @Override
  public String toString() {
    return kind + " " + database + " on " + host + ":" + port;
  }
}
