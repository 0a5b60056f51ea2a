package dev.snapstash.sandbox;

import dev.snapstash.testing.DatabaseFixture;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The database servers of one test class: core's {@link PostgresFixture} and {@link MariaDbFixture}, each started on
 * first use (so a class that runs on every kind starts at most one server per kind, and a missing PostgreSQL skips
 * only the PostgreSQL cases, not the H2 ones) and stopped after the class. Each sandbox gets a fresh database.
 *
 * <pre>{@code
 * @RegisterExtension static final DatabaseServers servers = new DatabaseServers();
 * ... RunningSandbox.start(servers.on(kind, SandboxOptions.defaults(dir)), runner)
 * }</pre>
 */
final class DatabaseServers implements AfterAllCallback {
  private final Map<DbKind, DatabaseFixture> started = new EnumMap<>(DbKind.class);

  /**
   * The options pointed at a fresh database of this kind on this class's server (H2: unchanged, the sandbox's own
   * embedded database). Skips the test, or fails it with {@code snapstash.requireAll=true}, when the server is not
   * installed.
   */
  SandboxOptions on(DbKind kind, SandboxOptions o) {
    if (kind == DbKind.H2) {
      return o;
    }
    TestDatabase db = newDatabase(kind);
    return o.withDatabase(kind, db.jdbcUrl(), db.user(), db.passwordFile());
  }

  TestDatabase newDatabase(DbKind kind) {
    return fixture(kind).newDatabase();
  }

  synchronized DatabaseFixture fixture(DbKind kind) {
    DatabaseFixture f = started.get(kind);
    if (f == null) {
      f = switch (kind) {
        case POSTGRESQL -> new PostgresFixture();
        case MARIADB -> new MariaDbFixture();
        case H2 -> throw new IllegalArgumentException("H2 is embedded in the sandbox");
      };
      // Skips (or fails) right here when the programs are missing; stops what it started if the start fails.
      f.beforeAll(null);
      started.put(kind, f);
    }
    return f;
  }

  @Override
  public synchronized void afterAll(ExtensionContext context) {
    List<RuntimeException> failures = new ArrayList<>();
    for (DatabaseFixture f : started.values()) {
      try {
        f.afterAll(context);
      } catch (RuntimeException e) {
        failures.add(e);
      }
    }
    started.clear();
    if (!failures.isEmpty()) {
      RuntimeException first = failures.get(0);
      failures.subList(1, failures.size()).forEach(first::addSuppressed);
      throw first;
    }
  }
}
