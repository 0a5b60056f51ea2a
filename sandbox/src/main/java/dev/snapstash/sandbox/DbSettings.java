package dev.snapstash.sandbox;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.net.URI;
import java.nio.file.Path;

/**
 * The database a start will use, from the options, else from the previous start (a restart reuses its database),
 * else the embedded H2 in the home.
 */
record DbSettings(
    DbKind kind,
    String url,
    String user,
    String password,
    String passwordFile,
    String passwordOption,
    String host,
    Integer port,
    String database) {

  static DbSettings resolve(SandboxOptions o, SandboxState previous, SandboxLayout layout) {
    DbKind kind = o.db() != null ? o.db() : previous != null ? previous.db() : DbKind.H2;
    boolean sameAsBefore = previous != null && previous.db() == kind;
    String url = o.jdbcUrl() != null ? o.jdbcUrl() : sameAsBefore ? previous.jdbcUrl() : null;
    if (kind == DbKind.H2 && url == null) {
      url = h2Url(layout);
    }
    if (kind == DbKind.H2 && o.jdbcUrl() == null && o.dbPasswordFile() == null) {
      String pw = Secrets.readOrCreate(layout.dbPassword());
      return new DbSettings(kind, url, "sa", pw, layout.dbPassword().toString(), layout.dbPassword().toString(),
          null, null, null);
    }
    if (url == null) {
      throw new SnapstashException(
          ErrorKind.USAGE,
          "--db " + kind.optionValue() + " needs a server: give its address with --jdbc-url (a private local "
              + kind.optionValue() + " server is not available in this build)");
    }
    String user = o.dbUser() != null ? o.dbUser() : sameAsBefore ? previous.dbUser() : null;
    String pwFile = o.dbPasswordFile() != null ? o.dbPasswordFile().toAbsolutePath().toString()
        : sameAsBefore ? previous.dbPasswordFile() : null;
    if (user == null || pwFile == null) {
      throw new SnapstashException(
          ErrorKind.USAGE, "--jdbc-url needs --db-user and --db-password-file to log in to " + url);
    }
    String password = Secrets.read(Path.of(pwFile), "--db-password-file");
    String host = null;
    Integer port = null;
    String database = null;
    if (kind != DbKind.H2) {
      URI u = parse(url);
      host = u.getHost();
      port = u.getPort() > 0 ? u.getPort() : kind == DbKind.POSTGRESQL ? 5432 : 3306;
      String path = u.getPath() == null ? "" : u.getPath();
      database = path.startsWith("/") ? path.substring(1) : path;
    }
    return new DbSettings(kind, url, user, password, pwFile, "--db-password-file", host, port, database);
  }

  static String h2Url(SandboxLayout layout) {
    return "jdbc:h2:file:" + layout.h2Base() + ";AUTO_SERVER=TRUE";
  }

  private static URI parse(String jdbcUrl) {
    try {
      URI u = URI.create(jdbcUrl.substring("jdbc:".length()));
      if (u.getHost() == null) {
        throw new IllegalArgumentException("no host");
      }
      return u;
    } catch (RuntimeException e) {
      throw new SnapstashException(
          ErrorKind.USAGE, "cannot read host, port and database from '" + jdbcUrl + "': check --jdbc-url", e);
    }
  }
}
