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

  /**
   * The JDBC URLs a database strategy accepts on {@code --jdbc-url}.
   *
   * @param type the strategy's name, for messages ({@code database.<type>.password})
   * @param schemes the URL schemes after {@code jdbc:} it reads, the first as it is shown
   * @param defaultPort the port of a URL that names none
   */
  public record Shape(String type, java.util.List<String> schemes, int defaultPort) {
    String shown() {
      return "jdbc:" + schemes.get(0) + (schemes.size() > 1 ? " (or jdbc:" + String.join(", jdbc:", schemes.subList(1, schemes.size())) + ")" : "")
          + "://HOST[:PORT]/DATABASE[?user=NAME]";
    }
  }

  /** The configuration with the chosen database strategy's settings redirected to {@code jdbcUrl}. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  public static SnapstashConfig override(SnapstashConfig config, String jdbcUrl) {
    Choice d = config.database();
    var provider = dev.snapstash.core.spi.Providers.require(dev.snapstash.core.spi.StrategyKind.DATABASE, d.type(), "database.type");
    var dp = provider instanceof dev.snapstash.core.spi.DatabaseProvider p ? p : null;
    Shape shape = (dp == null ? java.util.Optional.<Shape>empty() : dp.jdbcUrls()).orElseThrow(() -> new SnapstashException(
        ErrorKind.USAGE,
        "--jdbc-url needs database.type " + String.join(" or ", serverTypes()) + ", not " + d.type()
            + " (an embedded database is restored inside the target home; choose it with --home-target)"));
    Record settings = (Record) dp.retarget(d.settings(), parse(jdbcUrl, shape));
    return config.withDatabase(d.withSettings(settings));
  }

  /** The database strategies a {@code --jdbc-url} can point somewhere else. */
  private static java.util.List<String> serverTypes() {
    return dev.snapstash.core.spi.Providers.of(dev.snapstash.core.spi.StrategyKind.DATABASE).stream()
        .filter(p -> p instanceof dev.snapstash.core.spi.DatabaseProvider<?> dp && dp.jdbcUrls().isPresent())
        .map(dev.snapstash.core.spi.Provider::name)
        .toList();
  }

  /** Parses {@code jdbc:SCHEME://HOST[:PORT]/DATABASE[?user=NAME]} for a strategy of the given {@code shape}. */
  public static Target parse(String jdbcUrl, Shape accepted) {
    String type = accepted.type();
    String shape = accepted.shown();
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
    if (!accepted.schemes().contains(scheme)) {
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
    int port = uri.getPort() == -1 ? accepted.defaultPort() : uri.getPort();
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

  private static SnapstashException usage(String message) {
    return new SnapstashException(ErrorKind.USAGE, message);
  }
}
