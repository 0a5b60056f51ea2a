package dev.snapstash.core.api;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.BitbucketProperties;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.DatabaseAddress;
import dev.snapstash.core.spi.JdbcLogin;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.stage.HostsBlock;
import dev.snapstash.core.stage.IsolationGuard;
import dev.snapstash.core.stage.Parameters;
import dev.snapstash.core.stage.RuleRunner;
import dev.snapstash.core.stage.RuleSet;
import dev.snapstash.core.stage.StageReport;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * {@code snapstash stage}: the guard, the restore into the staging home and database (through the facade's own
 * restore), the sanitising rules, the hosts block and the audit. Built by {@link Snapstash#planStage}; the
 * production side is the facade's configuration, and the staging side the staging file's.
 */
final class Staging {
  private final Snapstash facade;
  private final Composition production;
  private final Composition staging;
  private final String stagingFile;
  private final IsolationGuard guard;

  Staging(Snapstash facade, Composition production, SnapstashConfig stagingConfig, String stagingFile, IsolationGuard guard) {
    this.facade = facade;
    this.production = production;
    // The staging file describes the staging instance; the backups it restores are production's.
    this.staging = production.with(stagingConfig.withBackup(production.config().backup()));
    this.stagingFile = stagingFile;
    this.guard = guard;
  }

  Composition staging() {
    return staging;
  }

  /** Refuses a staging target that could be production; writes nothing. */
  void requireIsolated() {
    SnapstashConfig p = production.config();
    SnapstashConfig s = staging.config();
    if (s.instance().baseUrl() == null) {
      throw new SnapstashException(ErrorKind.CONFIG,
          stagingFile + ": instance.base-url is not set; stage writes it as the staging copy's base URL, so set it to"
              + " the staging instance's own URL");
    }
    List<DatabaseAddress> prodDatabases = new ArrayList<>();
    production.database().restoredDatabase().ifPresent(l -> prodDatabases.add(l.address()));
    productionHomeDatabase().ifPresent(prodDatabases::add);
    Optional<JdbcLogin> login = staging.database().restoredDatabase();
    guard.require(
        new IsolationGuard.Production(p.instance().home(), p.instance().baseUrl(), IsolationGuard.distinct(prodDatabases)),
        new IsolationGuard.Staging(s.instance().home(), s.instance().baseUrl(), login.map(JdbcLogin::address).orElse(null),
            "database." + s.database().type()),
        stagingFile);
  }

  /** The database production's home names (when this machine can read it): what production really uses. */
  private Optional<DatabaseAddress> productionHomeDatabase() {
    Path home = production.config().instance().home();
    try {
      if (home == null || !Files.isReadable(home.resolve(BitbucketProperties.RELATIVE_PATH))) {
        return Optional.empty();
      }
      return DatabaseAddress.parse(BitbucketProperties.get(home, "jdbc.url"));
    } catch (SnapstashException e) {
      return Optional.empty();
    }
  }

  JdbcLogin stagingLogin() {
    return staging.database().restoredDatabase().orElseThrow();
  }

  Parameters parameters() {
    SnapstashConfig.Stage st = staging.config().stage();
    String license = null;
    if (st.licenseFile() != null) {
      try {
        license = Files.readString(st.licenseFile(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new SnapstashException(ErrorKind.CONFIG,
            stagingFile + ": cannot read stage.license-file " + st.licenseFile() + ": " + e.getClass().getSimpleName());
      }
    }
    return Parameters.of(staging.config().instance().baseUrl().toString(), stagingLogin().address().url(), st.mailSink(), license);
  }

  RuleSet rules() {
    return RuleSet.load(staging.config().stage().rulesFile());
  }

  List<String> ruleFiles() {
    List<String> out = new ArrayList<>(List.of(RuleSet.SHIPPED));
    Path own = staging.config().stage().rulesFile();
    if (own != null) {
      out.add(own.toString());
    }
    return out;
  }

  /** Production's host names this machine knows without reading any database: base URL, database, proxies. */
  List<String> productionHosts() {
    List<String> out = new ArrayList<>();
    SnapstashConfig p = production.config();
    out.add(HostsBlock.host(p.instance().baseUrl()));
    production.database().restoredDatabase().ifPresent(l -> out.add(l.address().host()));
    productionHomeDatabase().ifPresent(a -> out.add(a.host()));
    out.addAll(HostsBlock.hostsIn(p.instance().proxy()));
    Path home = p.instance().home();
    if (home != null && Files.isReadable(home.resolve(BitbucketProperties.RELATIVE_PATH))) {
      out.add(BitbucketProperties.get(home, "server.proxy-name"));
    }
    return out;
  }

  /** The names staging itself must still reach: its database, its own URL, the mail sink. */
  List<String> stagingHosts() {
    List<String> out = new ArrayList<>();
    out.add(HostsBlock.host(staging.config().instance().baseUrl()));
    out.add(stagingLogin().address().host());
    String sink = staging.config().stage().mailSink();
    if (!sink.isEmpty()) {
      out.add(sink.substring(0, sink.lastIndexOf(':')));
    }
    return out;
  }

  /**
   * Production's host names the restored copy names in URLs: application links, mirrors, Connect add-ons,
   * webhooks. Read before the rules remove them.
   */
  static List<String> hostsInDatabase(Connection c) {
    List<String> out = new ArrayList<>();
    String[] queries = {
      "SELECT key_value FROM plugin_setting WHERE key_name LIKE 'applinks.%' OR key_name LIKE 'acnct.%'",
      "SELECT \"URL\" FROM \"AO_A0B856_WEBHOOK\"",
      "SELECT \"BASE_URL\" FROM \"AO_8E6075_MIRROR_SERVER\""
    };
    for (String q : queries) {
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(q)) {
        while (rs.next()) {
          out.addAll(HostsBlock.hostsIn(rs.getString(1)));
        }
        c.commit();
      } catch (SQLException absent) {
        // The plugin's table is not there (or not this version's shape): it names no host.
        try {
          c.rollback();
        } catch (SQLException ignored) {
          // The connection is closed by the caller.
        }
      }
    }
    return out;
  }

  static Connection connect(JdbcLogin login) throws SQLException {
    DatabaseAddress a = login.address();
    Properties p = new Properties();
    p.setProperty("user", login.user());
    if (login.password() != null) {
      p.setProperty("password", login.password().reveal());
    }
    String host = a.host().contains(":") ? "[" + a.host() + "]" : a.host();
    String scheme = a.scheme().equals("postgresql") ? "postgresql" : "mariadb";
    return DriverManager.getConnection("jdbc:" + scheme + "://" + host + ":" + a.port() + "/" + a.database(), p);
  }

  Path auditDir() {
    Path dir = staging.config().stage().auditDir();
    if (dir != null) {
      return dir;
    }
    Path home = staging.config().instance().home().toAbsolutePath().normalize();
    return home.getParent() != null ? home.getParent() : home;
  }

  String bitbucketVersion(String tag) {
    Manifest m = production.store().resolve(tag);
    return m.bitbucketVersion();
  }

  /**
   * A fresh random lockout-recovery password in {@code stage-recovery-password} beside the audit, created 0600 and
   * never printed or logged: the report names the file only.
   */
  Path writeRecoveryPassword() {
    byte[] bytes = new byte[18];
    new java.security.SecureRandom().nextBytes(bytes);
    String password = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    Path file = auditDir().resolve("stage-recovery-password");
    try {
      Files.createDirectories(file.getParent());
      Files.deleteIfExists(file);
      Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, password + "\n");
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write the recovery password file " + file + ": " + e.getMessage(), e);
    }
    return file;
  }

  Snapstash facade() {
    return facade;
  }

  Instant now() {
    return Instant.now();
  }

  Progress progress() {
    return Progress.NONE;
  }
}
