package dev.snapstash.testing;

import dev.snapstash.core.localdb.LocalDatabaseServer;
import dev.snapstash.core.localdb.MariaDbServer;
import dev.snapstash.core.localdb.PostgresServer;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One private database server per test class, stopped and deleted afterwards (also on failure, and by a shutdown
 * hook if the JVM is told to exit first). Register it as {@code @RegisterExtension static final}; each test asks
 * for a {@link #newDatabase()}.
 */
public abstract class DatabaseFixture implements BeforeAllCallback, AfterAllCallback {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final AtomicInteger counter = new AtomicInteger();
  private final ProcessRunner runner = new ProcessRunner();
  private volatile LocalDatabaseServer server;
  private volatile Path base;
  private volatile Thread hook;

  /** Skips or fails (see {@link Tools}) when the server programs are missing. */
  protected abstract void requireInstalled();

  protected abstract LocalDatabaseServer start(Path dataDir, ProcessRunner runner);

  protected abstract String prefix();

  private static final AtomicBoolean reaped = new AtomicBoolean();

  @Override
  public void beforeAll(ExtensionContext context) {
    requireInstalled();
    if (reaped.compareAndSet(false, true)) {
      reapOrphans(runner);
    }
    base = TestDirs.newEnterableDir(prefix());
    hook = new Thread(this::shutDown, "stop " + prefix() + " test server");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      server = start(base.resolve("data"), runner);
    } catch (RuntimeException e) {
      shutDown();
      throw e;
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    try {
      shutDown();
    } finally {
      if (hook != null) {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
          // Already shutting down.
        }
      }
    }
  }

  /** Stops servers left behind by test JVMs that were killed before their clean-up, and deletes their directories. */
  static void reapOrphans(ProcessRunner runner) {
    for (Path dir : TestDirs.orphans()) {
      try {
        Path data = dir.resolve("data");
        PostgresServer.running(data, runner).ifPresent(LocalDatabaseServer::stop);
        MariaDbServer.running(data, runner).ifPresent(LocalDatabaseServer::stop);
        TestDirs.deleteRecursively(dir);
      } catch (RuntimeException e) {
        System.err.println("could not clean up the orphaned test directory " + dir + ": " + e.getMessage());
      }
    }
  }

  private synchronized void shutDown() {
    try {
      if (server != null) {
        server.stop();
      }
    } finally {
      server = null;
      TestDirs.deleteRecursively(base);
    }
  }

  public LocalDatabaseServer server() {
    if (server == null) {
      throw new IllegalStateException("the fixture is not started; register it with @RegisterExtension static");
    }
    return server;
  }

  /** The directory this fixture owns (the server's data is in {@code data/} below it). */
  public Path baseDir() {
    return base;
  }

  /** A new empty database, owned by a new user with a random password. */
  public TestDatabase newDatabase() {
    int n = counter.incrementAndGet();
    String db = "db_" + n;
    String user = "user_" + n;
    String password = "pw-" + Long.toHexString(RANDOM.nextLong()) + "'\"\\:x";
    server().createDatabase(db, user, password);
    try {
      Path secrets = Files.createDirectories(base.resolve("secrets"));
      Path file = secrets.resolve(db + ".pw");
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, password + "\n", StandardCharsets.UTF_8);
      return new TestDatabase(server.kind(), server.host(), server.port(), db, user, password, file, server.jdbcUrl(db));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A connection as the server's superuser, to the given database. */
  public Connection superuserConnection(String database) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", server().superuser());
    try {
      p.setProperty("password", Files.readString(server().superuserPasswordFile()).strip());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return DriverManager.getConnection(server().jdbcUrl(database), p);
  }
}
