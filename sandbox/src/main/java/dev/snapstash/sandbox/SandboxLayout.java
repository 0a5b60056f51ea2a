package dev.snapstash.sandbox;

import java.nio.file.Path;

/** Where everything of one sandbox lives under its directory. Pure paths, no I/O. */
public record SandboxLayout(Path dir) {
  public SandboxLayout {
    dir = dir.toAbsolutePath().normalize();
  }

  public Path home() {
    return dir.resolve("home");
  }

  public Path shared() {
    return home().resolve("shared");
  }

  public Path properties() {
    return shared().resolve("bitbucket.properties");
  }

  public Path repositories() {
    return shared().resolve("data").resolve("repositories");
  }

  public Path repository(long id) {
    return repositories().resolve(Long.toString(id));
  }

  /** The embedded H2 database path without its {@code .mv.db} suffix, where Bitbucket keeps it. */
  public Path h2Base() {
    return shared().resolve("data").resolve("db");
  }

  public Path caches() {
    return home().resolve("caches");
  }

  public Path log() {
    return home().resolve("log");
  }

  public Path tmp() {
    return home().resolve("tmp");
  }

  public Path lock() {
    return home().resolve(".lock");
  }

  public Path logFile() {
    return log().resolve("sandbox.log");
  }

  /** Written by a foreground start that fails, so the detached parent can report the same error. */
  public Path startError() {
    return log().resolve("start-error.json");
  }

  /**
   * The start environment file, where Bitbucket's installation has {@code bin/_start-webapp.sh}: its {@code
   * JVM_SUPPORT_RECOMMENDED_ARGS} are read at start (see {@link StartEnvironment}).
   */
  public Path startEnvironment() {
    return dir.resolve("bin").resolve("_start-webapp.sh");
  }

  public Path stateFile() {
    return dir.resolve("sandbox.json");
  }

  public Path adminPassword() {
    return dir.resolve("admin-password");
  }

  public Path userPassword() {
    return dir.resolve("user-password");
  }

  public Path dbPassword() {
    return dir.resolve("db-password");
  }

  /** An access token of the admin user (HTTP Bearer; like every token, without SYSADMIN). */
  public Path adminToken() {
    return dir.resolve("admin-token");
  }

  /** With {@code --tls}: the server's key and self-signed certificate (PKCS12). */
  public Path keystore() {
    return dir.resolve("tls").resolve("sandbox.p12");
  }

  public Path keystorePassword() {
    return dir.resolve("tls").resolve("keystore-password");
  }

  /** With {@code --tls}: the certificate clients trust ({@code instance.ca-file}, {@code GIT_SSL_CAINFO}). */
  public Path caFile() {
    return dir.resolve("tls").resolve("ca.pem");
  }

  public Path config() {
    return dir.resolve("snapstash.yml");
  }

  public Path backups() {
    return dir.resolve("backups");
  }

  public Path pgData() {
    return dir.resolve("pgdata");
  }

  public Path mariaDbData() {
    return dir.resolve("mariadb");
  }

  /**
   * Present while the private database server is kept running without its sandbox ({@code sandbox stop
   * --keep-database}): the stopping sandbox leaves the server up, and {@code status} says why it runs.
   */
  public Path databaseKept() {
    return dir.resolve("database-kept");
  }
}
