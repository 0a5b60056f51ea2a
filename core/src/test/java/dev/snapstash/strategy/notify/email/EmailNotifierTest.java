package dev.snapstash.strategy.notify.email;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.RunReport;
import jakarta.mail.Message;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The email notifier against GreenMail on loopback: what arrives, and each way a delivery fails, in one sentence. */
class EmailNotifierTest {
  @TempDir Path tmp;
  private MailServers servers;

  static final RunReport SUCCESS = new RunReport("backup", "bb", "bb-20261207-010203", true,
      Instant.parse("2026-12-07T01:02:03Z"), Duration.ofSeconds(75), Duration.ofMillis(1250), 3L << 30, null);
  static final RunReport FAILURE = new RunReport("backup", "bb", null, false, Instant.parse("2026-12-07T01:02:03Z"),
      Duration.ofSeconds(9), null, 0, "pg_dump failed with exit code 1: connection to server lost");

  @BeforeEach
  void start() throws Exception {
    servers = new MailServers(tmp);
  }

  @AfterEach
  void stop() throws Exception {
    servers.close();
  }

  @Test
  void aReportArrivesWithItsHeadersAndTheRunAsText() throws Exception {
    Notifier n = servers.notifier(servers.tlsEntry(servers.smtpsPort(), "5s").replace(
        "to: [backup-admin@example.com]", "to: [backup-admin@example.com, oncall@example.com]")
        + "subject: '{operation} of {instance} {outcome} ({tag})'\n");
    n.send(SUCCESS);
    n.send(FAILURE);

    MimeMessage[] got = servers.mail.getReceivedMessages();
    assertThat(got).as("one copy per recipient per report").hasSize(4);
    MimeMessage ok = got[0];
    assertThat(ok.getFrom()).containsExactly(new InternetAddress("snapstash@example.com"));
    assertThat(Arrays.stream(ok.getRecipients(Message.RecipientType.TO)).map(Object::toString))
        .containsExactly("backup-admin@example.com", "oncall@example.com");
    assertThat(ok.getSubject()).isEqualTo("backup of bb succeeded (bb-20261207-010203)");
    assertThat(ok.getHeader("Auto-Submitted")).containsExactly("auto-generated");
    assertThat(ok.getContentType()).startsWith("text/plain").contains("UTF-8");
    assertThat((String) ok.getContent())
        .contains("snapstash backup of bb succeeded.")
        .contains("Tag:         bb-20261207-010203")
        .contains("Lock window: 1.25s")
        .contains("Duration:    75.00s")
        .contains("Size:        3.0 GiB")
        .doesNotContain("Error:")
        .doesNotContain(MailServers.PASSWORD);

    MimeMessage failed = Arrays.stream(got).filter(m -> subject(m).contains("FAILED")).findFirst().orElseThrow();
    assertThat(failed.getSubject()).isEqualTo("backup of bb FAILED (no backup)");
    assertThat((String) failed.getContent())
        .contains("snapstash backup of bb FAILED.")
        .contains("Error:       pg_dump failed with exit code 1: connection to server lost")
        .doesNotContain("Lock window:")
        .doesNotContain(MailServers.PASSWORD);
  }

  @Test
  void theDefaultSubjectNamesTheInstanceTheVerbAndTheOutcome() throws Exception {
    servers.notifier(servers.tlsEntry(servers.smtpsPort(), "5s")).send(FAILURE);
    assertThat(servers.mail.getReceivedMessages()).singleElement()
        .satisfies(m -> assertThat(m.getSubject()).isEqualTo("[snapstash] bb: backup FAILED"));
  }

  @Test
  void aRelayThatNeedsNoLoginTakesPlainSmtp() throws Exception {
    Notifier n = servers.notifier("host: 127.0.0.1\nport: " + servers.smtpPort() + "\nsecurity: none\n"
        + "from: snapstash@example.com\nto: [backup-admin@example.com]\n");
    Findings f = new Findings();
    n.check(f);
    assertThat(f.problems()).isEmpty();
    assertThat(f.warnings()).isEmpty();
    n.send(SUCCESS);
    assertThat(servers.received()).singleElement().asString().contains("bb-20261207-010203");
  }

  /**
   * The upgrade itself, against a relay that offers it: the certificate checked through {@code ca-certificate}, the
   * login and the message only after the handshake.
   */
  @Test
  void starttlsUpgradesBeforeTheLoginAndTheMessage() throws Exception {
    int port = servers.starttls();
    Notifier n = servers.notifier(servers.tlsEntry(port, "5s").replace("security: tls", "security: starttls"));
    Findings f = new Findings();
    n.check(f);
    assertThat(f.warnings()).isEmpty();
    assertThat(f.all()).anySatisfy(o -> assertThat(o.message()).contains("starttls, logged in as snapstash"));
    servers.starttlsLog.clear();

    n.send(FAILURE);

    assertThat(servers.starttlsLog).startsWith("plain: EHLO", "plain: STAR", "tls: EHLO", "tls: AUTH", "tls: MAIL");
    assertThat(servers.starttlsLog).filteredOn(l -> l.startsWith("plain:")).hasSize(2);
    assertThat(servers.starttlsLog).anySatisfy(l -> assertThat(l).contains("pg_dump failed with exit code 1"));
  }

  /** Without {@code ca-certificate}, the relay's certificate (signed by nobody the runtime knows) stops the upgrade. */
  @Test
  void starttlsChecksTheCertificateToo() throws Exception {
    int port = servers.starttls();
    Notifier n = servers.notifier(servers.tlsEntry(port, "5s").replace("security: tls", "security: starttls")
        .replace("ca-certificate: " + servers.certificate + "\n", ""));
    String log = logOf(() -> n.send(FAILURE));
    assertThat(log).contains("WARN").contains("notify[].ca-certificate");
    assertThat(servers.starttlsLog).noneMatch(l -> l.startsWith("tls:"));
  }

  /**
   * GreenMail offers no STARTTLS: exactly the server (or the man in the middle stripping it) that {@code security:
   * starttls} must refuse, before the login and the message go out in plain text.
   */
  @Test
  void starttlsIsRequiredNotOpportunistic() throws Exception {
    Notifier n = servers.notifier(servers.tlsEntry(servers.smtpPort(), "5s").replace("security: tls", "security: starttls"));
    String log = logOf(() -> n.send(FAILURE));
    assertThat(servers.received()).isEmpty();
    assertThat(log).contains("WARN").contains("does not offer STARTTLS").contains("notify[].security")
        .doesNotContain(MailServers.PASSWORD);
  }

  @Test
  void aWrongPasswordIsOneSentenceNamingItsKeyInCheckAndInTheLog() throws Exception {
    Notifier n = servers.notifier(servers.tlsEntry(servers.smtpsPort(), "5s").replace("SMTP_PASSWORD", "WRONG_PASSWORD"));

    Findings f = new Findings();
    n.check(f);
    assertThat(f.problems()).as("a mail server's refusal never stops a backup").isEmpty();
    assertThat(f.warnings()).singleElement().satisfies(w -> assertThat(w.message())
        .contains("refused the login as " + MailServers.USER)
        .contains("535")
        .contains("notify[].password")
        .contains("${env:WRONG_PASSWORD}")
        .doesNotContain(MailServers.PASSWORD)
        .doesNotContain("\n"));

    String log = logOf(() -> n.send(FAILURE));
    assertThat(log).contains("WARN").contains("notify[].password").doesNotContain(MailServers.PASSWORD);
    assertThat(servers.received()).isEmpty();
  }

  @Test
  void aCertificateThatIsNotTrustedStopsTheDeliveryAndSaysWhichKeyHelps() throws Exception {
    Notifier n = servers.notifier(servers.tlsEntry(servers.smtpsPort(), "5s")
        .replace("ca-certificate: " + servers.certificate + "\n", ""));
    String log = logOf(() -> n.send(FAILURE));
    assertThat(log).contains("WARN").contains("TLS with 127.0.0.1:" + servers.smtpsPort()).contains("notify[].ca-certificate");
    assertThat(servers.received()).isEmpty();
  }

  /** An address nobody answers at (TEST-NET-1): given up on within the limit, the run's outcome untouched. */
  @Test
  void anUnreachableServerCostsAtMostTheLimit() {
    Notifier n = servers.notifier(servers.tlsEntry(25, "1s").replace("host: 127.0.0.1", "host: 192.0.2.1"));
    long t = System.nanoTime();
    String log = logOf(() -> assertTimeoutPreemptively(Duration.ofSeconds(10), () -> n.send(FAILURE)));
    assertThat(Duration.ofNanos(System.nanoTime() - t)).isLessThan(Duration.ofSeconds(6));
    assertThat(log).contains("WARN").contains("192.0.2.1:25");
  }

  /**
   * A server that answers every line just under the limit would hold a run for the sum of them (six answers of
   * 1.8 s against a 2 s limit): the limit is on the whole delivery, not on each read.
   */
  @Test
  void aServerAnsweringSlowlyLineByLineIsGivenUpOnAtTheLimit() throws Exception {
    int port = servers.slow(Duration.ofMillis(1800));
    Notifier n = servers.notifier("host: 127.0.0.1\nport: " + port + "\nsecurity: none\n"
        + "from: snapstash@example.com\nto: [backup-admin@example.com]\ntimeout: 2s\n");
    long t = System.nanoTime();
    String log = logOf(() -> assertTimeoutPreemptively(Duration.ofSeconds(30), () -> n.send(FAILURE)));
    assertThat(Duration.ofNanos(System.nanoTime() - t)).isLessThan(Duration.ofSeconds(7));
    assertThat(log).contains("WARN").contains("did not finish within 2s");
  }

  @Test
  void whenFailureSendsNothingAfterASuccess() throws Exception {
    Notifier n = servers.notifier(servers.tlsEntry(servers.smtpsPort(), "5s") + "when: failure\n");
    n.send(SUCCESS);
    assertThat(servers.received()).isEmpty();
    n.send(FAILURE);
    assertThat(servers.received()).singleElement().asString().contains("FAILED");
  }

  @Test
  void wrongSettingsAreOneSentenceEachNamingTheKey() {
    String base = "host: smtp.example.com\nfrom: snapstash@example.com\nto: [a@example.com]\n";
    assertThat(problem(base.replace("to: [a@example.com]", "to: []")))
        .contains("notify[0]: to is empty; give at least one recipient address");
    assertThat(problem(base.replace("[a@example.com]", "[a@example.com, nobody]")))
        .contains("notify[0]: to: 'nobody' is not an email address");
    assertThat(problem(base + "security: ssl\n")).contains("notify[0].security: 'ssl' is not one of starttls, tls, none");
    assertThat(problem(base + "when: success\n")).contains("notify[0].when: 'success' is not one of always, failure");
    assertThat(problem(base + "subject: '{host} failed'\n"))
        .contains("notify[0]: subject holds {host}; the placeholders are {instance}, {operation}, {outcome}, {tag}");
    assertThat(problem(base + "user: snap\n")).contains("notify[0]: user is set but password is not");
    assertThat(problem(base + "user: snap\npassword: ${env:SMTP_PASSWORD}\nsecurity: none\n"))
        .contains("notify[0]: a password is only sent over an encrypted connection");
    assertThat(problem(base + "user: snap\npassword: hunter2\n"))
        .contains("notify[0].password must be a secret reference").doesNotContain("hunter2");
    assertThat(problem(base + "port: 0\n")).contains("notify[0].port: '0' is not a port number");
    assertThat(problem(base + "url: https://example.com\n")).contains("unknown key").contains("url");
  }

  @Test
  void aCaCertificateThatIsNoCertificateIsAConfigurationError() {
    assertThatThrownBy(() -> servers.notifier("host: smtp.example.com\nfrom: s@example.com\nto: [a@example.com]\n"
        + "ca-certificate: " + servers.keystore + "\n"))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
          assertThat(e.getMessage()).startsWith("notify[].ca-certificate: ").contains("holds no PEM certificate");
        });
  }

  private String problem(String entry) {
    try {
      servers.config(entry);
    } catch (SnapstashException e) {
      assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
      return e.getMessage();
    }
    throw new AssertionError("accepted: " + entry);
  }

  private static String subject(MimeMessage m) {
    try {
      return m.getSubject();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String logOf(Runnable run) {
    PrintStream was = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      run.run();
    } finally {
      System.setErr(was);
    }
    String text = captured.toString(StandardCharsets.UTF_8);
    was.print(text);
    return text;
  }
}
