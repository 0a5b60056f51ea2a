package dev.snapstash.core.localdb;

import java.nio.file.Path;

/**
 * A private database server that snapstash starts itself on loopback: the sandbox's database, the scratch
 * database of {@code verify --drill}, and the servers tests run against.
 *
 * <p>The server runs detached (its own session, surviving this JVM, like a real database server); {@link #stop()}
 * stops it. It listens only on 127.0.0.1, keeps its socket inside its own directory (never the system's), and
 * authenticates every TCP connection with a real password, so a wrong password really fails.
 *
 * <p>Thread-safe for concurrent {@link #createDatabase} calls; {@link #stop()} is idempotent.
 */
public interface LocalDatabaseServer extends AutoCloseable {
  /** "postgresql" or "mariadb". */
  String kind();

  /** Always "127.0.0.1". */
  String host();

  int port();

  /** The directory the server keeps everything in (its data, its superuser password file, its log). */
  Path dataDir();

  /** A JDBC URL for one database on this server (no credentials in it). */
  String jdbcUrl(String database);

  /** The superuser's name ("postgres", "root"). */
  String superuser();

  /** The superuser's password file (mode 0600), usable as {@code Secret.ofFile(...)}. */
  Path superuserPasswordFile();

  /**
   * Creates the database and a login user that owns it (all privileges on it) with password authentication.
   * Idempotent: an existing user gets the given password, an existing database is kept. Names must be plain
   * identifiers ({@code [A-Za-z_][A-Za-z0-9_]*}).
   */
  void createDatabase(String name, String user, String password);

  /** Whether the server process is alive. */
  boolean isRunning();

  /** Clean, fast shutdown (open connections are closed); waits for the process to exit. Idempotent. */
  void stop();

  @Override
  default void close() {
    stop();
  }
}
