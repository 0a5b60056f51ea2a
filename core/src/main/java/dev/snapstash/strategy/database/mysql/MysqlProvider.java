package dev.snapstash.strategy.database.mysql;

import dev.snapstash.core.config.JdbcTarget;
import dev.snapstash.core.config.Rules;
import dev.snapstash.core.spi.DatabaseProvider;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Services;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/** {@code database.type: mysql} (MySQL and MariaDB). */
public final class MysqlProvider implements DatabaseProvider<MysqlSettings> {
  static final JdbcTarget.Shape URLS = new JdbcTarget.Shape(MysqlDumpStrategy.NAME, List.of("mariadb", "mysql"), 3306);

  @Override
  public String name() {
    return MysqlDumpStrategy.NAME;
  }

  @Override
  public String summary() {
    return "mariadb-dump (or mysqldump) --single-transaction, for MySQL and MariaDB";
  }

  @Override
  public Class<MysqlSettings> settingsType() {
    return MysqlSettings.class;
  }

  @Override
  public DatabaseStrategy create(MysqlSettings s, Services services) {
    return new MysqlDumpStrategy(s, services.runner());
  }

  @Override
  public Map<String, UnaryOperator<Object>> rules() {
    return Map.of("port", Rules.port());
  }

  @Override
  public Optional<JdbcTarget.Shape> jdbcUrls() {
    return Optional.of(URLS);
  }

  @Override
  public MysqlSettings retarget(MysqlSettings s, JdbcTarget.Target t) {
    return new MysqlSettings(t.host(), t.port(), t.database(), t.user() != null ? t.user() : s.username(), s.password());
  }
}
