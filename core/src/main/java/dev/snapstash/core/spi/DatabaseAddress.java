package dev.snapstash.core.spi;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A database as a JDBC URL names it: the server (host and port) and the database on it. What a restore writes into,
 * and what a home's {@code bitbucket.properties} points at; comparing the two is how a restore tells "the database
 * this home already uses" from "another one", and how it refuses to write where a live instance works.
 *
 * @param scheme {@code postgresql}, {@code mysql} or {@code mariadb}, lower case
 * @param host as written (a name or an address; IPv6 without brackets)
 * @param port the port, the scheme's default when the URL names none
 * @param database the database name
 */
public record DatabaseAddress(String scheme, String host, int port, String database) {
  private static final Set<String> SCHEMES = Set.of("postgresql", "mysql", "mariadb");

  /**
   * Reads {@code jdbc:postgresql://HOST[:PORT]/DB[?…]}, {@code jdbc:postgresql:DB} (the driver's local default), and
   * {@code jdbc:mysql://…} / {@code jdbc:mariadb://…}. Empty for anything else: another database product, several
   * hosts (failover lists), or text that is not a URL. Never throws, never resolves a name.
   */
  public static Optional<DatabaseAddress> parse(String jdbcUrl) {
    if (jdbcUrl == null || !jdbcUrl.regionMatches(true, 0, "jdbc:", 0, 5)) {
      return Optional.empty();
    }
    String rest = jdbcUrl.substring(5).strip();
    int colon = rest.indexOf(':');
    if (colon < 0) {
      return Optional.empty();
    }
    String scheme = rest.substring(0, colon).toLowerCase(Locale.ROOT);
    if (!SCHEMES.contains(scheme)) {
      return Optional.empty();
    }
    String afterScheme = rest.substring(colon + 1);
    if (!afterScheme.startsWith("//")) {
      // jdbc:postgresql:DB means localhost:5432; MySQL's drivers need the slashes.
      if (!scheme.equals("postgresql") || afterScheme.isEmpty()) {
        return Optional.empty();
      }
      String db = afterScheme.split("[?;]", 2)[0];
      return db.isEmpty() || db.contains("/") ? Optional.empty() : Optional.of(new DatabaseAddress(scheme, "localhost", 5432, db));
    }
    URI uri;
    try {
      uri = new URI(scheme + ":" + afterScheme);
    } catch (URISyntaxException e) {
      return Optional.empty();
    }
    String authority = uri.getRawAuthority();
    if (authority == null && afterScheme.startsWith("///")) {
      authority = "";
    }
    if (authority == null || authority.contains(",")) {
      return Optional.empty();
    }
    String host = uri.getHost();
    if (host == null) {
      host = authority.isEmpty() ? "localhost" : null;
    }
    if (host == null) {
      return Optional.empty();
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = uri.getPort() != -1 ? uri.getPort() : defaultPort(scheme);
    String path = uri.getPath() == null ? "" : uri.getPath();
    String db = path.startsWith("/") ? path.substring(1) : path;
    if (db.isEmpty() || db.contains("/")) {
      return Optional.empty();
    }
    return Optional.of(new DatabaseAddress(scheme, host, port, db));
  }

  public static int defaultPort(String scheme) {
    return scheme.equals("postgresql") ? 5432 : 3306;
  }

  /** One server product: MariaDB's driver and MySQL's speak to the same servers. */
  private String family() {
    return scheme.equals("postgresql") ? "postgresql" : "mysql";
  }

  /**
   * Whether both name the same database on the same server, as far as this machine can tell: the same product, port
   * and database name, and hosts that are equal, both this machine's loopback, or resolve to a common address.
   * Unresolvable names are compared as text. MySQL database names are compared without case, since a server on a
   * case-insensitive filesystem treats them so; doubt counts as "the same" where that is the safe answer (never
   * writing into a database that may be the live one).
   */
  public boolean sameDatabaseAs(DatabaseAddress other) {
    if (!family().equals(other.family()) || port != other.port) {
      return false;
    }
    boolean sameName =
        family().equals("mysql") ? database.equalsIgnoreCase(other.database) : database.equals(other.database);
    return sameName && sameHost(host, other.host);
  }

  static boolean sameHost(String a, String b) {
    if (a.equalsIgnoreCase(b)) {
      return true;
    }
    Set<InetAddress> ra = resolve(a);
    Set<InetAddress> rb = resolve(b);
    if (ra.isEmpty() || rb.isEmpty()) {
      return false;
    }
    if (ra.stream().allMatch(InetAddress::isLoopbackAddress) && rb.stream().allMatch(InetAddress::isLoopbackAddress)) {
      return true;
    }
    return ra.stream().anyMatch(rb::contains);
  }

  private static Set<InetAddress> resolve(String host) {
    try {
      return Arrays.stream(InetAddress.getAllByName(host)).collect(Collectors.toSet());
    } catch (UnknownHostException | SecurityException e) {
      return Set.of();
    }
  }

  /**
   * {@code jdbcUrl} pointed at this database instead: host, port and database replaced, the scheme's spelling and
   * every connection parameter (character set, SSL, time zone) kept, since the operator chose them for this server
   * kind. A URL that {@link #parse} cannot read is replaced by a plain one.
   */
  public String rewrite(String jdbcUrl) {
    Optional<DatabaseAddress> old = parse(jdbcUrl);
    if (old.isEmpty()) {
      return url();
    }
    String rest = jdbcUrl.strip().substring(5);
    int colon = rest.indexOf(':');
    String spelledScheme = rest.substring(0, colon);
    String afterScheme = rest.substring(colon + 1);
    int query = indexOfAny(afterScheme, afterScheme.startsWith("//") ? afterScheme.indexOf('/', 2) : 0, '?', ';');
    String params = query < 0 ? "" : afterScheme.substring(query);
    return "jdbc:" + spelledScheme + "://" + hostAndPort() + "/" + database + params;
  }

  private static int indexOfAny(String s, int from, char a, char b) {
    if (from < 0) {
      return -1;
    }
    int i = s.indexOf(a, from);
    int j = s.indexOf(b, from);
    return i < 0 ? j : j < 0 ? i : Math.min(i, j);
  }

  /** {@code jdbc:SCHEME://HOST:PORT/DATABASE}. */
  public String url() {
    return "jdbc:" + scheme + "://" + hostAndPort() + "/" + database;
  }

  private String hostAndPort() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** {@code database at host:port}, for messages. */
  @Override
  public String toString() {
    return database + " at " + hostAndPort();
  }
}
