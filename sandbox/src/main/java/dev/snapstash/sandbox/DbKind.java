package dev.snapstash.sandbox;

import dev.snapstash.core.error.SnapstashException;
import java.util.Locale;

/** The databases the sandbox can keep its tables in, as Bitbucket supports them. */
public enum DbKind {
  H2("org.h2.Driver", "h2"),
  POSTGRESQL("org.postgresql.Driver", "postgresql"),
  MARIADB("org.mariadb.jdbc.Driver", "mysql");

  private final String driver;
  private final String configType;

  DbKind(String driver, String configType) {
    this.driver = driver;
    this.configType = configType;
  }

  /** The {@code jdbc.driver} written to bitbucket.properties. */
  public String driver() {
    return driver;
  }

  /** The {@code database.type} of snapstash.yml (MariaDB is served by the {@code mysql} strategy). */
  public String configType() {
    return configType;
  }

  public String optionValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static DbKind parse(String value) {
    for (DbKind k : values()) {
      if (k.optionValue().equalsIgnoreCase(value) || (k == MARIADB && "mysql".equalsIgnoreCase(value))) {
        return k;
      }
    }
    throw new SnapstashException(
        dev.snapstash.core.error.ErrorKind.USAGE,
        "unknown database '" + value + "': use --db h2, --db postgresql or --db mariadb");
  }
}
