package dev.snapstash.strategy.database.postgresql;

import dev.snapstash.core.config.JdbcTarget;
import dev.snapstash.core.config.Rules;
import dev.snapstash.core.spi.DatabaseProvider;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Services;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/** {@code database.type: postgresql}. */
public final class PostgresProvider implements DatabaseProvider<PostgresSettings> {
  static final JdbcTarget.Shape URLS = new JdbcTarget.Shape(PostgresDumpStrategy.NAME, List.of("postgresql"), 5432);

  @Override
  public String name() {
    return PostgresDumpStrategy.NAME;
  }

  @Override
  public String summary() {
    return "pg_dump -Fd -j N from a snapshot pinned under the lock (dumped after the unlock); pg_restore -j N";
  }

  @Override
  public Class<PostgresSettings> settingsType() {
    return PostgresSettings.class;
  }

  @Override
  public DatabaseStrategy create(PostgresSettings s, Services services) {
    return new PostgresDumpStrategy(s, services.runner());
  }

  @Override
  public Map<String, UnaryOperator<Object>> rules() {
    return Map.of("port", Rules.port(), "jobs", Rules.between(1, 64));
  }

  @Override
  public Optional<JdbcTarget.Shape> jdbcUrls() {
    return Optional.of(URLS);
  }

  @Override
  public PostgresSettings retarget(PostgresSettings s, JdbcTarget.Target t) {
    return new PostgresSettings(
        t.host(), t.port(), t.database(), t.user() != null ? t.user() : s.username(), s.password(), s.jobs(), s.binDir(),
        s.dumpAfterUnlock());
  }
}
