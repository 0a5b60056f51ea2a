package dev.snapstash.strategy.notify.email;

import com.icegreen.greenmail.configuration.GreenMailConfiguration;
import com.icegreen.greenmail.util.DummySSLServerSocketFactory;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Providers;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import jakarta.mail.internet.MimeMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Real SMTP peers on loopback for the email notifier's tests: GreenMail (SMTP and SMTPS, with a login) holding a
 * certificate for 127.0.0.1 made by keytool, so the notifier checks it as it would a relay's, and two fault
 * knobs GreenMail has not: a relay that takes the login and then refuses every message, and one that accepts the
 * connection and never says a word.
 */
final class MailServers implements AutoCloseable {
  static final String USER = "snapstash";
  static final String PASSWORD = "smtp-pw-7d41e9";
  static final String KEYSTORE_PASSWORD = "changeit";

  final Path dir;
  final Path keystore;
  /** The certificate GreenMail shows, as the PEM file {@code ca-certificate} names. */
  final Path certificate;
  final GreenMail mail;
  private final List<AutoCloseable> faults = new ArrayList<>();

  /**
   * GreenMail loads its keystore once per JVM, when its first TLS server starts: one key pair for every test,
   * made the first time and removed when the JVM ends.
   */
  private static Path[] tls;

  private static synchronized Path[] tls() throws Exception {
    if (tls == null) {
      Path d = Files.createTempDirectory("snapstash-smtp-tls");
      Path ks = d.resolve("server.p12");
      Path pem = d.resolve("server.pem");
      d.toFile().deleteOnExit();
      ks.toFile().deleteOnExit();
      pem.toFile().deleteOnExit();
      keytool("-genkeypair", "-alias", "smtp", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
          "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore",
          ks.toString(), "-storepass", KEYSTORE_PASSWORD, "-keypass", KEYSTORE_PASSWORD);
      keytool("-exportcert", "-rfc", "-alias", "smtp", "-keystore", ks.toString(), "-storepass",
          KEYSTORE_PASSWORD, "-file", pem.toString());
      System.setProperty(DummySSLServerSocketFactory.GREENMAIL_KEYSTORE_FILE_PROPERTY, ks.toString());
      System.setProperty(DummySSLServerSocketFactory.GREENMAIL_KEYSTORE_PASSWORD_PROPERTY, KEYSTORE_PASSWORD);
      tls = new Path[] {ks, pem};
    }
    return tls;
  }

  MailServers(Path dir) throws Exception {
    this.dir = dir;
    this.keystore = tls()[0];
    this.certificate = tls()[1];
    ServerSetup smtp = new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP);
    ServerSetup smtps = new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTPS);
    // GreenMail's 2 s to start is short on a machine shared with other builds.
    smtp.setServerStartupTimeout(30_000);
    smtps.setServerStartupTimeout(30_000);
    mail = new GreenMail(new ServerSetup[] {smtp, smtps})
        .withConfiguration(GreenMailConfiguration.aConfig().withUser("backup-admin@example.com", USER, PASSWORD));
    mail.start();
  }

  private static void keytool(String... args) throws Exception {
    List<String> argv = new ArrayList<>();
    argv.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    argv.addAll(List.of(args));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("keytool failed: " + out);
    }
  }

  int smtpPort() {
    return mail.getSmtp().getPort();
  }

  int smtpsPort() {
    return mail.getSmtps().getPort();
  }

  /** A port nothing listens on. */
  static int closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** A server that accepts connections and never answers. */
  int silent() throws IOException {
    ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    List<Socket> held = new ArrayList<>();
    Thread t = new Thread(() -> {
      try {
        while (true) {
          held.add(s.accept());
        }
      } catch (IOException e) {
        // closed
      }
    }, "silent smtp");
    t.setDaemon(true);
    t.start();
    faults.add(() -> {
      s.close();
      for (Socket c : held) {
        c.close();
      }
    });
    return s.getLocalPort();
  }

  /** What the STARTTLS relay saw of each session: its commands, marked with whether they came over TLS. */
  final List<String> starttlsLog = new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * A relay that offers STARTTLS (which GreenMail 2.1.5 does not): plain text until the client asks for the upgrade,
   * then the same certificate as GreenMail's; it takes any login and every message, and logs each command as
   * {@code plain:} or {@code tls:} so a test sees that nothing but EHLO and STARTTLS crossed in plain text.
   */
  int starttls() throws Exception {
    SSLContext ctx = serverContext();
    ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (!s.isClosed()) {
        try (Socket plain = s.accept()) {
          Socket c = plain;
          BufferedReader in = reader(c);
          OutputStream out = c.getOutputStream();
          boolean tls = false;
          boolean data = false;
          say(out, "220 starttls.example.com ESMTP");
          String line;
          while ((line = in.readLine()) != null) {
            if (data) {
              starttlsLog.add((tls ? "tls: " : "plain: ") + line);
              if (line.equals(".")) {
                data = false;
                say(out, "250 2.0.0 queued");
              }
              continue;
            }
            String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase() : line.toUpperCase();
            starttlsLog.add((tls ? "tls: " : "plain: ") + verb);
            switch (verb) {
              case "EHLO" -> say(out, tls ? "250-starttls.example.com\r\n250 AUTH PLAIN LOGIN"
                  : "250-starttls.example.com\r\n250 STARTTLS");
              case "STAR" -> {
                say(out, "220 2.0.0 ready to start TLS");
                javax.net.ssl.SSLSocket upgraded = (javax.net.ssl.SSLSocket)
                    ctx.getSocketFactory().createSocket(plain, null, plain.getPort(), false);
                upgraded.setUseClientMode(false);
                upgraded.startHandshake();
                c = upgraded;
                in = reader(c);
                out = c.getOutputStream();
                tls = true;
              }
              case "AUTH" -> say(out, tls ? "235 2.7.0 Authentication successful" : "530 5.7.0 STARTTLS first");
              case "MAIL", "RCPT", "RSET", "NOOP" -> say(out, "250 2.1.0 OK");
              case "DATA" -> {
                data = true;
                say(out, "354 go ahead");
              }
              case "QUIT" -> {
                say(out, "221 bye");
                in = null;
              }
              default -> say(out, "502 5.5.2 not implemented");
            }
            if (in == null) {
              break;
            }
          }
        } catch (IOException e) {
          // the client went away, or the relay was closed
        }
      }
    }, "starttls smtp");
    t.setDaemon(true);
    t.start();
    faults.add(s);
    return s.getLocalPort();
  }

  private static BufferedReader reader(Socket c) throws IOException {
    return new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.US_ASCII));
  }

  private SSLContext serverContext() throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      ks.load(in, KEYSTORE_PASSWORD.toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, KEYSTORE_PASSWORD.toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    return ctx;
  }

  /**
   * A plain SMTP server that takes every command but answers each {@code pause} late: never long enough for one
   * read to time out, so only a bound on the whole delivery stops it.
   */
  int slow(java.time.Duration pause) throws IOException {
    ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (!s.isClosed()) {
        try (Socket c = s.accept()) {
          BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.US_ASCII));
          OutputStream out = c.getOutputStream();
          Thread.sleep(pause.toMillis());
          say(out, "220 slow.example.com ESMTP");
          boolean data = false;
          String line;
          while ((line = in.readLine()) != null) {
            if (data) {
              if (!line.equals(".")) {
                continue;
              }
              data = false;
            }
            Thread.sleep(pause.toMillis());
            if (line.toUpperCase().startsWith("DATA")) {
              data = true;
              say(out, "354 go ahead");
            } else if (line.toUpperCase().startsWith("QUIT")) {
              say(out, "221 bye");
              break;
            } else {
              say(out, "250 OK");
            }
          }
        } catch (IOException | InterruptedException e) {
          // closed, or the client gave up
        }
      }
    }, "slow smtp");
    t.setDaemon(true);
    t.start();
    faults.add(s);
    return s.getLocalPort();
  }

  /**
   * A relay over TLS (the same certificate) that takes any login and then refuses every message with {@code reply}
   * (a policy's "554 5.7.1 relay access denied").
   */
  int refusing(String reply) throws Exception {
    SSLContext ctx = serverContext();
    ServerSocket s = ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      try {
        while (true) {
          try (Socket c = s.accept()) {
            converse(c, reply);
          } catch (IOException e) {
            if (s.isClosed()) {
              return;
            }
          }
        }
      } catch (RuntimeException e) {
        // closed
      }
    }, "refusing smtp");
    t.setDaemon(true);
    t.start();
    faults.add(s);
    return s.getLocalPort();
  }

  private static void converse(Socket c, String reply) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.US_ASCII));
    OutputStream out = c.getOutputStream();
    say(out, "220 refusing.example.com ESMTP");
    String line;
    while ((line = in.readLine()) != null) {
      String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase() : line.toUpperCase();
      switch (verb) {
        case "EHLO", "HELO" -> say(out, "250-refusing.example.com\r\n250 AUTH PLAIN LOGIN");
        case "AUTH" -> say(out, "235 2.7.0 Authentication successful");
        case "MAIL" -> say(out, reply);
        case "QUIT" -> {
          say(out, "221 bye");
          return;
        }
        default -> say(out, "503 5.5.1 Bad sequence of commands");
      }
    }
  }

  private static void say(OutputStream out, String line) throws IOException {
    out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** What GreenMail received, each message as its headers and its decoded text. */
  List<String> received() throws Exception {
    List<String> out = new ArrayList<>();
    for (MimeMessage m : mail.getReceivedMessages()) {
      out.add(text(m));
    }
    return out;
  }

  static String text(MimeMessage m) throws Exception {
    StringBuilder sb = new StringBuilder();
    for (var h : java.util.Collections.list(m.getAllHeaderLines())) {
      sb.append(h).append('\n');
    }
    sb.append("Subject (decoded): ").append(m.getSubject()).append("\n\n").append(m.getContent());
    return sb.toString();
  }

  /**
   * An email notifier as a run builds it: read from configuration ({@code entry} holds the keys after {@code type:
   * email}), the password by reference, built by its provider.
   */
  Notifier notifier(String entry) {
    SnapstashConfig c = config(entry);
    @SuppressWarnings({"unchecked", "rawtypes"})
    Provider<Record, Notifier> p =
        (Provider) Providers.require(StrategyKind.NOTIFY, c.notifications().get(0).type(), "notify[0].type");
    return p.create(c.notifications().get(0).settings(), Services.of(c.instance(), c.backup(), new ProcessRunner()));
  }

  SnapstashConfig config(String entry) {
    return ConfigLoader.parse(
        "instance: {name: bb, home: " + dir.resolve("home") + "}\n"
            + "backup: {root: " + dir.resolve("backups") + "}\n"
            + "quiesce: {type: none}\n"
            + "notify:\n"
            + "  - type: email\n"
            + entry.indent(4),
        "email.yml", Map.of("SMTP_PASSWORD", PASSWORD, "WRONG_PASSWORD", "not-" + PASSWORD));
  }

  /** The keys of an entry that logs in over implicit TLS to GreenMail's SMTPS port, with {@code limit}. */
  String tlsEntry(int port, String limit) {
    return "host: 127.0.0.1\n"
        + "port: " + port + "\n"
        + "security: tls\n"
        + "ca-certificate: " + certificate + "\n"
        + "user: " + USER + "\n"
        + "password: ${env:SMTP_PASSWORD}\n"
        + "from: snapstash@example.com\n"
        + "to: [backup-admin@example.com]\n"
        + "timeout: " + limit + "\n";
  }

  @Override
  public void close() throws Exception {
    for (AutoCloseable f : faults) {
      f.close();
    }
    mail.stop();
  }
}
