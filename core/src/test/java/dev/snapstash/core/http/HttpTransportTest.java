package dev.snapstash.core.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HttpTransportTest {
  @TempDir Path tmp;

  /** A CA bundle as distributions ship them: comments and several certificates in one file. */
  @Test
  void aPemBundleWithTextAroundTheCertificatesIsRead() throws Exception {
    Path one = certificate("one");
    Path two = certificate("two");
    Path bundle = tmp.resolve("bundle.pem");
    Files.writeString(bundle, "# Corporate CA\n" + Files.readString(one) + "\n# Issuing CA\n" + Files.readString(two));
    KeyStore ks = HttpTransport.pemStore(bundle);
    assertThat(java.util.Collections.list(ks.aliases())).hasSize(2);
    assertThat(new HttpTransport(bundle, null, null, false, null).sslContext()).isNotNull();
  }

  @Test
  void aFileWithoutCertificatesIsAConfigurationErrorNamingTheKey() throws Exception {
    Path f = tmp.resolve("empty.pem");
    Files.writeString(f, "not a certificate\n");
    assertThatThrownBy(() -> new HttpTransport(f, null, null, false, null).sslContext())
        .hasMessageContaining("instance.ca-file").hasMessageContaining("no PEM certificate");
  }

  @Test
  void contradictoryTrustSettingsAreRefused() {
    assertThatThrownBy(() -> new HttpTransport(tmp.resolve("a"), tmp.resolve("b"), null, false, null))
        .hasMessageContaining("exclude each other");
    assertThatThrownBy(() -> new HttpTransport(tmp.resolve("a"), null, null, true, null))
        .hasMessageContaining("instance.insecure");
  }

  private Path certificate(String name) {
    Path store = tmp.resolve(name + ".p12");
    Path pem = tmp.resolve(name + ".pem");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    ProcessRunner r = new ProcessRunner();
    r.run(Command.of(keytool, "-genkeypair", "-alias", name, "-keyalg", "EC", "-dname", "CN=" + name, "-validity", "2",
        "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass:env", "SP").withSecretEnv("SP", "changeit"));
    r.run(Command.of(keytool, "-exportcert", "-rfc", "-alias", name, "-keystore", store.toString(), "-storepass:env",
        "SP", "-file", pem.toString()).withSecretEnv("SP", "changeit"));
    return pem;
  }
}
