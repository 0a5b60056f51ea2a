package dev.snapstash.sandbox;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The sandbox's self-signed certificate for {@code --tls}, made once per directory with the JDK's own {@code
 * keytool} (no library, no openssl needed): a PKCS12 key store for the server, and the certificate as PEM for
 * clients ({@code instance.ca-file}, git's {@code http.sslCAInfo}). The store's password is a generated secret in a
 * file, passed to keytool through its environment, never its arguments.
 */
final class SandboxTls {
  static final String ALIAS = "sandbox";
  private static final String PASSWORD_VARIABLE = "SNAPSTASH_SANDBOX_STOREPASS";

  private SandboxTls() {}

  /** Makes the key store and PEM certificate unless both exist; returns the store's password. */
  static String ensure(SandboxLayout l, ProcessRunner runner) {
    try {
      Files.createDirectories(l.keystore().getParent());
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + l.keystore().getParent() + ": " + e.getMessage(), e);
    }
    String password = Secrets.readOrCreate(l.keystorePassword());
    if (Files.exists(l.keystore()) && Files.exists(l.caFile())) {
      return password;
    }
    try {
      Files.deleteIfExists(l.keystore());
      Files.deleteIfExists(l.caFile());
    } catch (IOException e) {
      throw SnapstashException.storage("cannot replace " + l.keystore() + ": " + e.getMessage(), e);
    }
    runner.run(generate(l.keystore(), password));
    runner.run(export(l.keystore(), l.caFile(), password));
    return password;
  }

  /** A key pair and a self-signed certificate for localhost and 127.0.0.1, valid ten years. */
  static Command generate(Path keystore, String password) {
    return keytool("-genkeypair", "-alias", ALIAS, "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=localhost, OU=snapstash sandbox", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
        // Marked as a CA: some TLS stacks take a self-signed certificate as a trust anchor only then.
        "-ext", "BC:c=ca:true",
        "-validity", "3650", "-storetype", "PKCS12", "-keystore", keystore.toString(),
        "-storepass:env", PASSWORD_VARIABLE)
        .withSecretEnv(PASSWORD_VARIABLE, password);
  }

  /** The certificate, PEM-encoded, for clients to trust. */
  static Command export(Path keystore, Path pem, String password) {
    return keytool("-exportcert", "-rfc", "-alias", ALIAS, "-keystore", keystore.toString(),
        "-storepass:env", PASSWORD_VARIABLE, "-file", pem.toString())
        .withSecretEnv(PASSWORD_VARIABLE, password);
  }

  private static Command keytool(String... args) {
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    return Command.of(keytool).plus(java.util.List.of(args)).withTimeout(Duration.ofMinutes(1));
  }
}
