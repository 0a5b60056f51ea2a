package dev.snapstash.core.bitbucket;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.io.FileInputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What counts as "an instance answers" before a restore: real servers on loopback, each answering one way. Only
 * silence (nothing listens) lets a restore go on unasked; a Bitbucket that says its version is certain; anything
 * else that answers (another status, TLS this client cannot verify, a connection that never answers) is not.
 */
class InstanceProbeTest {
  @TempDir Path tmp;

  /** Long enough for a TLS handshake on a loaded two-core machine; only the silent server waits it out. */
  private static Optional<InstanceProbe.Answer> probe(String base) {
    return probe(base, Duration.ofSeconds(20));
  }

  private static Optional<InstanceProbe.Answer> probe(String base, Duration timeout) {
    return InstanceProbe.http(URI.create(base), timeout).answer();
  }

  private static HttpServer http(int status, String body) throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", x -> {
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(status, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    server.start();
    return server;
  }

  @Test
  void nothingListeningIsSilence() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    assertThat(probe("http://127.0.0.1:" + port)).isEmpty();
  }

  @Test
  void aBitbucketThatSaysItsVersionIsCertain() throws Exception {
    HttpServer server = http(200, "{\"version\":\"8.19.1\",\"buildNumber\":\"8019001\",\"displayName\":\"Bitbucket\"}");
    try {
      String base = "http://127.0.0.1:" + server.getAddress().getPort() + "/bitbucket";
      assertThat(probe(base)).contains(new InstanceProbe.Answer("Bitbucket 8.19.1 answers at " + base, true));
    } finally {
      server.stop(0);
    }
  }

  @Test
  void anyOtherStatusIsSomethingAnswering() throws Exception {
    for (int status : new int[] {503, 404, 502, 401}) {
      HttpServer server = http(status, "<html>proxy</html>");
      try {
        Optional<InstanceProbe.Answer> a = probe("http://127.0.0.1:" + server.getAddress().getPort());
        assertThat(a).isPresent();
        assertThat(a.get().certain()).isFalse();
        assertThat(a.get().what()).contains("HTTP " + status).isNotNull();
      } finally {
        server.stop(0);
      }
    }
  }

  /** A private CA or a self-signed certificate this JVM does not trust: the handshake fails, and that is an answer. */
  @Test
  void tlsThatCannotBeVerifiedIsSomethingAnswering() throws Exception {
    Path keystore = tmp.resolve("ks.p12");
    new ProcessRunner().run(Command.of(
        Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair", "-alias", "bb", "-keyalg", "RSA",
        "-keysize", "2048", "-dname", "CN=127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(),
        "-storepass", "changeit", "-keypass", "changeit").withTimeout(Duration.ofMinutes(2)));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(keystore.toFile())) {
      ks.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "changeit".toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(ctx));
    server.createContext("/", x -> {
      x.sendResponseHeaders(200, -1);
      x.close();
    });
    server.start();
    try {
      Optional<InstanceProbe.Answer> a = probe("https://127.0.0.1:" + server.getAddress().getPort());
      assertThat(a).isPresent();
      assertThat(a.get().certain()).isFalse();
      assertThat(a.get().what()).contains("speaks TLS, but the handshake failed");
    } finally {
      server.stop(0);
    }
  }

  @Test
  void aConnectionThatNeverAnswersIsSomethingAnswering() throws Exception {
    List<Socket> held = new ArrayList<>();
    try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            held.add(s.accept());
          }
        } catch (java.io.IOException closed) {
          // the test is over
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      Optional<InstanceProbe.Answer> a = probe("http://127.0.0.1:" + s.getLocalPort(), Duration.ofSeconds(2));
      assertThat(a).isPresent();
      assertThat(a.get().certain()).isFalse();
      assertThat(a.get().what()).contains("did not answer within 2 s");
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }
}
