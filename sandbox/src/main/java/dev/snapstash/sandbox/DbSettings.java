package dev.snapstash.sandbox;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.localdb.LocalDatabaseServer;
import java.net.URI;
import java.nio.file.Path;

/**
 * The database a start will use, from the options, else from the previous start (a restart reuses its database),
 * else the embedded H2 in the home. PostgreSQL or MariaDB without {@code --jdbc-url} means a private server in the
 * sandbox directory ({@link #localDataDir()}); its address is known once it runs ({@link #on}).
 *
 * @param localDataDir the private server's data directory, or {@code null} for H2 and external servers
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
    String database,
    Path localDataDir) {

  /** The kind of private server this start will run, or {@code null} (H2, or an external server). */
  static DbKind plannedLocalServer(SandboxOptions o, SandboxState previous) {
    DbKind kind = kind(o, previous);
    if (kind == DbKind.H2 || o.jdbcUrl() != null) {
      return null;
    }
    boolean externalBefore = previous != null && previous.db() == kind && !previous.dbLocal()
        && previous.jdbcUrl() != null;
    return externalBefore ? null : kind;
  }

  private static DbKind kind(SandboxOptions o, SandboxState previous) {
    return o.db() != null ? o.db() : previous != null && previous.db() != null ? previous.db() : DbKind.H2;
  }

  static DbSettings resolve(SandboxOptions o, SandboxState previous, SandboxLayout layout) {
    if (o.db() == null && o.jdbcUrl() == null && previous == null) {
      java.util.Optional<DbSettings> home = fromHome(layout);
      if (home.isPresent()) {
        return home.get();
      }
    }
    DbKind kind = kind(o, previous);
    boolean sameAsBefore = previous != null && previous.db() == kind;
    if (plannedLocalServer(o, previous) != null) {
      if (o.dbUser() != null || o.dbPasswordFile() != null) {
        throw new SnapstashException(
            ErrorKind.USAGE,
            "--db-user and --db-password-file go with --jdbc-url: without it the sandbox runs its own "
                + kind.optionValue() + " server in " + layout.dir() + " as user " + LocalDb.USER
                + " (password in " + layout.dbPassword() + ")");
      }
      String pw = Secrets.readOrCreate(layout.dbPassword());
      return new DbSettings(kind, null, LocalDb.USER, pw, layout.dbPassword().toString(),
          layout.dbPassword().toString(), null, null, LocalDb.DATABASE, LocalDb.dataDir(kind, layout));
    }
    String url = o.jdbcUrl() != null ? o.jdbcUrl() : sameAsBefore ? previous.jdbcUrl() : null;
    if (kind == DbKind.H2 && url == null) {
      url = h2Url(layout);
    }
    if (kind == DbKind.H2 && o.jdbcUrl() == null && o.dbPasswordFile() == null) {
      String pw = Secrets.readOrCreate(layout.dbPassword());
      return new DbSettings(kind, url, "sa", pw, layout.dbPassword().toString(), layout.dbPassword().toString(),
          null, null, null, null);
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
    return new DbSettings(kind, url, user, password, pwFile, "--db-password-file", host, port, database, null);
  }

  /**
   * A first start on a home that already names its database in {@code shared/bitbucket.properties} (a restored
   * copy, say) uses that database, as Bitbucket itself does: the JDBC settings there are the ones that count. The
   * password is copied into the sandbox's own password file, for the {@code snapstash.yml} it writes.
   */
  static java.util.Optional<DbSettings> fromHome(SandboxLayout layout) {
    java.util.Properties p = new java.util.Properties();
    try (var r = java.nio.file.Files.newBufferedReader(layout.properties(), java.nio.charset.StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (java.nio.file.NoSuchFileException e) {
      return java.util.Optional.empty();
    } catch (java.io.IOException | IllegalArgumentException e) {
      throw SnapstashException.storage("cannot read " + layout.properties() + ": " + e.getMessage(), e);
    }
    String url = p.getProperty("jdbc.url", "").strip();
    DbKind kind = url.startsWith("jdbc:postgresql:") ? DbKind.POSTGRESQL
        : url.startsWith("jdbc:mariadb:") || url.startsWith("jdbc:mysql:") ? DbKind.MARIADB : null;
    if (kind == null) {
      return java.util.Optional.empty();
    }
    String user = p.getProperty("jdbc.user", "").strip();
    String password = p.getProperty("jdbc.password", "");
    if (p.getProperty("jdbc.password.decrypter.classname", "").strip().endsWith(".Base64Cipher")) {
      password = new String(java.util.Base64.getDecoder().decode(password.strip()), java.nio.charset.StandardCharsets.UTF_8);
    }
    if (user.isEmpty()) {
      throw new SnapstashException(ErrorKind.CONFIG, layout.properties() + " names " + url + " but no jdbc.user");
    }
    Secrets.write(layout.dbPassword(), password);
    URI u = parse(url);
    int port = u.getPort() > 0 ? u.getPort() : kind == DbKind.POSTGRESQL ? 5432 : 3306;
    String path = u.getPath() == null ? "" : u.getPath();
    String database = path.startsWith("/") ? path.substring(1) : path;
    // The sandbox's driver for MySQL-compatible servers is MariaDB's, which reads only jdbc:mariadb URLs.
    String sandboxUrl = kind == DbKind.MARIADB ? url.replaceFirst("^jdbc:mysql:", "jdbc:mariadb:") : url;
    return java.util.Optional.of(new DbSettings(kind, sandboxUrl, user, password, layout.dbPassword().toString(),
        "jdbc.password in " + layout.properties(), u.getHost(), port, database, null));
  }

  boolean local() {
    return localDataDir != null;
  }

  /** These settings completed with the address of the private server now running. */
  DbSettings on(LocalDatabaseServer server) {
    return new DbSettings(kind, server.jdbcUrl(database), user, password, passwordFile, passwordOption,
        server.host(), server.port(), database, localDataDir);
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
