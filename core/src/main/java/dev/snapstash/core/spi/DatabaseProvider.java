package dev.snapstash.core.spi;

import dev.snapstash.core.config.JdbcTarget;
import java.util.Optional;

/**
 * The provider of a database strategy, which may also point its settings at another database (a restore with
 * {@code --jdbc-url}).
 */
public interface DatabaseProvider<S extends Record> extends Provider<S, DatabaseStrategy> {
  @Override
  default StrategyKind kind() {
    return StrategyKind.DATABASE;
  }

  /**
   * The JDBC URLs a restore with {@code --jdbc-url} may point this strategy at; empty when it restores into no
   * database server (an embedded database, none).
   */
  default Optional<JdbcTarget.Shape> jdbcUrls() {
    return Optional.empty();
  }

  /**
   * {@code settings} pointed at {@code target} (parsed from one of {@link #jdbcUrls()}), the password and every
   * other setting kept. Only called when {@link #jdbcUrls()} is present.
   */
  default S retarget(S settings, JdbcTarget.Target target) {
    throw new UnsupportedOperationException(name() + " restores into no database server");
  }
}
