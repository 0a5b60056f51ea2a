package dev.snapstash.core.config;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * {@code restore --jdbc-url}: points the configured database strategy at another database (host, port, database
 * name, and optionally the user), keeping every other setting and the password of the configuration. Pure.
 *
 * <p>A URL is typed on a command line, where the process list and the shell history show it, so a URL that carries
 * a password is refused rather than used, and no error message repeats the URL.
 */
public final class JdbcTarget {
  private JdbcTarget() {}

  /** Where a URL points; {@code user} is null when the URL does not name one. */
  public record Target(String host, int port, String database, String user) {}

  /** The configuration with {@code database.<type>} redirected to {@code jdbcUrl}. */
  public static SnapstashConfig override(SnapstashConfig config, String jdbcUrl) {
    SnapstashConfig.Database d = config.database();
    String type = d == null || d.type() == null ? "none" : d.type();
    return switch (type) {
      case "postgresql" -> {
        var p = d.postgresql();
        if (p == null) {
          throw SnapstashException.config("database.postgresql is required when database.type is postgresql");
        }
        Target t = parse(jdbcUrl, type);
        var q =
            new SnapstashConfig.Postgresql(
                t.host(), t.port(), t.database(), t.user() != null ? t.user() : p.username(), p.password(), p.jobs(),
                p.binDir(), p.dumpAfterUnlock());
        yield withDatabase(config, new SnapstashConfig.Database(type, q, d.mysql(), d.h2(), d.collocated()));
      }
      case "mysql" -> {
        var m = d.mysql();
        if (m == null) {
          throw SnapstashException.config("database.mysql is required when database.type is mysql");
        }
        Target t = parse(jdbcUrl, type);
        var q = new SnapstashConfig.Mysql(t.host(), t.port(), t.database(), t.user() != null ? t.user() : m.username(), m.password());
        yield withDatabase(config, new SnapstashConfig.Database(type, d.postgresql(), q, d.h2(), d.collocated()));
      }
      default -> throw new SnapstashException(
          ErrorKind.USAGE,
          "--jdbc-url needs database.type postgresql or mysql, not " + type
              + (type.equals("h2") ? " (an H2 database is restored inside the target home; choose it with --home-target)" : ""));
    };
  }

  /**
   * Parses {@code jdbc:postgresql://HOST[:PORT]/DATABASE[?user=NAME]} (database.type postgresql) or {@code
   * jdbc:mariadb://…} / {@code jdbc:mysql://…} (database.type mysql).
   */
  public static Target parse(String jdbcUrl, String type) {
    boolean postgres = type.equals("postgresql");
    String shape =
        (postgres ? "jdbc:postgresql" : "jdbc:mariadb (or jdbc:mysql)") + "://HOST[:PORT]/DATABASE[?user=NAME]";
    if (jdbcUrl == null || !jdbcUrl.regionMatches(true, 0, "jdbc:", 0, 5)) {
      throw usage("--jdbc-url must look like " + shape);
    }
    URI uri;
    try {
      uri = new URI(jdbcUrl.substring(5));
    } catch (URISyntaxException e) {
      throw usage("--jdbc-url is not a valid URL; it must look like " + shape);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    boolean schemeOk = postgres ? scheme.equals("postgresql") : scheme.equals("mariadb") || scheme.equals("mysql");
    if (!schemeOk) {
      throw usage(
          "--jdbc-url is a jdbc:" + scheme + " URL but database.type is " + type + "; it must look like " + shape);
    }
    if (uri.getRawUserInfo() != null) {
      throw usage(
          "--jdbc-url must not carry credentials (a command line is visible to every user of the machine); the"
              + " password comes from database." + type + ".password");
    }
    String host = uri.getHost();
    if (host == null || host.isBlank()) {
      throw usage("--jdbc-url needs one host; it must look like " + shape);
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = uri.getPort() == -1 ? (postgres ? 5432 : 3306) : uri.getPort();
    String path = uri.getPath() == null ? "" : uri.getPath();
    String database = path.startsWith("/") ? path.substring(1) : path;
    if (database.isEmpty() || database.contains("/")) {
      throw usage("--jdbc-url needs a database name after the host; it must look like " + shape);
    }
    String user = null;
    if (uri.getRawQuery() != null && !uri.getRawQuery().isEmpty()) {
      for (String pair : uri.getRawQuery().split("&")) {
        int eq = pair.indexOf('=');
        String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        switch (key.toLowerCase(Locale.ROOT)) {
          case "user" -> user = value;
          case "password", "pwd" -> throw usage(
              "--jdbc-url must not carry a password (a command line is visible to every user of the machine); the"
                  + " password comes from database." + type + ".password");
          default -> throw usage(
              "--jdbc-url parameter '" + key + "' is not supported (only user); set connection options in database." + type);
        }
      }
      if (user != null && user.isBlank()) {
        throw usage("--jdbc-url parameter user must not be empty");
      }
    }
    return new Target(host, port, database, user);
  }

  private static SnapstashConfig withDatabase(SnapstashConfig c, SnapstashConfig.Database d) {
    return new SnapstashConfig(
        c.instance(), c.backup(), c.quiesce(), c.disk(), d, c.retention(), c.verify(), c.notifications());
  }

  private static SnapstashException usage(String message) {
    return new SnapstashException(ErrorKind.USAGE, message);
  }
}
