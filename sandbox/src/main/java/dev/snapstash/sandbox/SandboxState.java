package dev.snapstash.sandbox;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * {@code DIR/sandbox.json}: what a later {@code start}, {@code stop}, {@code status} or a test needs to know about the
 * instance. Holds paths of secret files, never secrets.
 *
 * @param baseUrl e.g. {@code http://127.0.0.1:7990}
 * @param port the HTTP port
 * @param pid the process serving it, or {@code null} once stopped
 * @param adminUser the SYSADMIN user
 * @param adminPasswordFile file holding its password
 * @param user the non-admin user
 * @param userPasswordFile file holding its password
 * @param db database kind
 * @param jdbcUrl the JDBC URL (also in bitbucket.properties)
 * @param dbUser database user
 * @param dbPasswordFile file holding the database password
 * @param dbLocal whether the sandbox started the database server itself
 * @param dbDataDir that server's data directory, or {@code null}
 * @param dbHost database host ({@code null} for H2)
 * @param dbPort database port ({@code null} for H2)
 * @param dbName database name ({@code null} for H2)
 * @param caFile with {@code --tls}, the PEM certificate clients trust; else {@code null}
 * @param adminTokenFile file holding an access token of the admin user (without SYSADMIN, as every token)
 * @param httpRedirectUrl with {@code --tls}, a plain-http address that redirects to {@code baseUrl}; else null
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SandboxState(
    String baseUrl,
    int port,
    Long pid,
    String adminUser,
    String adminPasswordFile,
    String user,
    String userPasswordFile,
    DbKind db,
    String jdbcUrl,
    String dbUser,
    String dbPasswordFile,
    boolean dbLocal,
    String dbDataDir,
    String dbHost,
    Integer dbPort,
    String dbName,
    String caFile,
    String adminTokenFile,
    String httpRedirectUrl) {

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public SandboxState withPid(Long p) {
    return new SandboxState(baseUrl, port, p, adminUser, adminPasswordFile, user, userPasswordFile, db, jdbcUrl,
        dbUser, dbPasswordFile, dbLocal, dbDataDir, dbHost, dbPort, dbName, caFile, adminTokenFile, httpRedirectUrl);
  }

  public String adminPassword() {
    return Secrets.read(Path.of(adminPasswordFile), "--admin-password-file");
  }

  /** The admin user's access token. */
  public String adminToken() {
    return Secrets.read(Path.of(adminTokenFile), adminTokenFile);
  }

  public String userPassword() {
    return Secrets.read(Path.of(userPasswordFile), userPasswordFile);
  }

  public static Optional<SandboxState> read(Path dir) {
    Path f = new SandboxLayout(dir).stateFile();
    if (!Files.exists(f)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readValue(f.toFile(), SandboxState.class));
    } catch (IOException e) {
      throw new SnapstashException(
          ErrorKind.PRECONDITION, f + " is not a sandbox state file (" + e.getMessage() + "): check --dir", e);
    }
  }

  /** Written atomically: a concurrent {@code status} never reads half a file. */
  public void write(Path dir) {
    Path f = new SandboxLayout(dir).stateFile();
    Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
    try {
      JSON.writeValue(tmp.toFile(), this);
      Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + f + ": " + e.getMessage(), e);
    }
  }
}
