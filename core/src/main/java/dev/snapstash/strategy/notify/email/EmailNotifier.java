package dev.snapstash.strategy.notify.email;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.RunReport;
import dev.snapstash.core.util.Trees;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mails run reports over SMTP (Angus Mail). The message is built only from the report, which holds no secret; the
 * password is read from its reference when a connection logs in and appears in no message or log line (a server's
 * answer that repeated it would be masked). A delivery runs on its own daemon thread and is given up on once the
 * configured limit has passed, whatever the server does: every socket operation has the limit too, so the thread
 * left behind ends by itself.
 */
public final class EmailNotifier implements Notifier {
  private static final Logger log = LoggerFactory.getLogger(EmailNotifier.class);

  /** How the connection is protected. */
  enum Security {
    NONE,
    STARTTLS,
    TLS;

    static Security of(String text) {
      return valueOf(text.strip().toUpperCase(Locale.ROOT));
    }
  }

  private final String host;
  private final int port;
  private final Security security;
  private final String user;
  private final Secret password;
  private final InternetAddress from;
  private final List<InternetAddress> to;
  private final String subject;
  private final boolean onlyFailures;
  private final Duration timeout;
  private final SSLSocketFactory trust;
  private final Clock clock;

  EmailNotifier(EmailSettings s, SSLSocketFactory trust, Clock clock) {
    this.host = s.host().strip();
    this.port = s.effectivePort();
    this.security = Security.of(s.security());
    this.user = s.user();
    this.password = s.password();
    this.subject = s.subject();
    this.onlyFailures = s.when().strip().equalsIgnoreCase("failure");
    this.timeout = s.timeout();
    this.trust = trust;
    this.clock = clock;
    try {
      this.from = new InternetAddress(s.from(), true);
      List<InternetAddress> list = new ArrayList<>();
      for (String t : s.to()) {
        list.add(new InternetAddress(t, true));
      }
      this.to = List.copyOf(list);
    } catch (MessagingException e) {
      // The settings record checked them already.
      throw SnapstashException.config("notify[].from/to: " + e.getMessage());
    }
  }

  @Override
  public String name() {
    return "email " + server();
  }

  private String server() {
    return host + ":" + port;
  }

  /**
   * Connects, says EHLO, upgrades the connection and logs in as a send would, then quits without sending. What
   * fails is a warning, not a problem: a mail server that is down must not keep a backup from running. Only a
   * password reference that cannot be read is a problem, as for every other secret.
   */
  @Override
  public void check(Findings findings) {
    if (password != null && password.problem() != null) {
      findings.problem("notify " + name(), password.problem(), ErrorKind.CONFIG);
      return;
    }
    String failure = withinLimit(this::probe);
    if (failure == null) {
      findings.ok("notify", name() + " (" + security.name().toLowerCase(Locale.ROOT)
          + (user == null ? ", no login" : ", logged in as " + user) + ")");
    } else {
      findings.warning("notify " + name(), failure);
    }
  }

  @Override
  public void send(RunReport report) {
    if (report.success() && onlyFailures) {
      return;
    }
    String failure = withinLimit(() -> deliver(report));
    if (failure != null) {
      log.warn("email notification to {} via {} failed: {}", recipients(), server(), failure);
    }
  }

  /**
   * Runs one exchange with the server on a daemon thread and waits at most the limit for it: the socket timeouts
   * bound each read and write, but not their sum over a server that answers slowly, line after line.
   *
   * @return null when it worked, else the one sentence that says what went wrong
   */
  private String withinLimit(Exchange exchange) {
    FutureTask<Void> task = new FutureTask<>(() -> {
      exchange.run();
      return null;
    });
    Thread t = new Thread(task, "email " + server());
    t.setDaemon(true);
    t.start();
    try {
      task.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return null;
    } catch (TimeoutException e) {
      task.cancel(true);
      return server() + " did not finish within " + limit() + "; given up";
    } catch (ExecutionException e) {
      return mask(sentence(e.getCause()));
    } catch (InterruptedException e) {
      task.cancel(true);
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  private interface Exchange {
    void run() throws Exception;
  }

  private void probe() throws MessagingException {
    Transport transport = session().getTransport(protocol());
    try {
      connect(transport);
    } finally {
      transport.close();
    }
  }

  private void deliver(RunReport report) throws MessagingException {
    Session session = session();
    MimeMessage m = message(session, report);
    Transport transport = session.getTransport(protocol());
    try {
      connect(transport);
      transport.sendMessage(m, m.getAllRecipients());
    } finally {
      transport.close();
    }
  }

  private void connect(Transport transport) throws MessagingException {
    if (user == null) {
      transport.connect(host, port, null, null);
    } else {
      transport.connect(host, port, user, password.reveal());
    }
  }

  /** The message: what the webhook sends, as text. */
  MimeMessage message(Session session, RunReport report) throws MessagingException {
    MimeMessage m = new MimeMessage(session);
    m.setFrom(from);
    m.setRecipients(Message.RecipientType.TO, to.toArray(new InternetAddress[0]));
    m.setSubject(subject(report), "UTF-8");
    m.setSentDate(Date.from(clock.instant()));
    // RFC 3834: keeps vacation replies and the like from answering a machine's mail.
    m.setHeader("Auto-Submitted", "auto-generated");
    m.setHeader("X-Snapstash-Outcome", report.success() ? "success" : "failure");
    m.setText(body(report), "UTF-8");
    return m;
  }

  String subject(RunReport r) {
    return subject
        .replace("{instance}", r.instance())
        .replace("{operation}", r.operation())
        .replace("{outcome}", outcome(r))
        .replace("{tag}", r.tag() == null ? "no backup" : r.tag());
  }

  private static String outcome(RunReport r) {
    return r.success() ? "succeeded" : "FAILED";
  }

  static String body(RunReport r) {
    StringBuilder sb = new StringBuilder();
    sb.append("snapstash ").append(r.operation()).append(" of ").append(r.instance()).append(' ')
        .append(outcome(r)).append(".\n\n");
    if (!r.success() && r.error() != null) {
      sb.append(r.error()).append("\n\n");
    }
    line(sb, "Instance", r.instance());
    line(sb, "Operation", r.operation());
    line(sb, "Outcome", r.success() ? "complete" : "failed");
    if (r.tag() != null) {
      line(sb, "Tag", r.tag());
    }
    if (r.startedAt() != null) {
      line(sb, "Started", r.startedAt().toString());
    }
    if (r.lockWindow() != null) {
      line(sb, "Lock window", seconds(r.lockWindow()));
    }
    if (r.duration() != null) {
      line(sb, "Duration", seconds(r.duration()));
    }
    if (r.success() || r.bytes() > 0) {
      line(sb, "Size", Trees.humanBytes(r.bytes()));
    }
    if (r.error() != null) {
      line(sb, "Error", r.error());
    }
    return sb.toString();
  }

  private static void line(StringBuilder sb, String name, String value) {
    sb.append(String.format(Locale.ROOT, "%-13s%s%n", name + ":", value));
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.2fs", d.toMillis() / 1000.0);
  }

  private String protocol() {
    return security == Security.TLS ? "smtps" : "smtp";
  }

  private Session session() {
    String p = "mail." + protocol() + ".";
    Properties props = new Properties();
    String ms = String.valueOf(timeout.toMillis());
    props.put(p + "connectiontimeout", ms);
    props.put(p + "timeout", ms);
    props.put(p + "writetimeout", ms);
    props.put(p + "auth", String.valueOf(user != null));
    if (security == Security.STARTTLS) {
      props.put(p + "starttls.enable", "true");
      // Without it a server (or someone in between) that leaves STARTTLS out would get the mail, and the
      // password, in plain text.
      props.put(p + "starttls.required", "true");
    }
    if (security != Security.NONE) {
      props.put(p + "ssl.checkserveridentity", "true");
      if (trust != null) {
        props.put(p + "ssl.socketFactory", trust);
      }
    }
    return Session.getInstance(props);
  }

  /** One sentence for what went wrong, naming the key to fix where there is one. */
  private String sentence(Throwable t) {
    if (t instanceof SnapstashException e) {
      return e.getMessage(); // an unreadable password reference: its message names the reference, not the value
    }
    if (t instanceof AuthenticationFailedException e) {
      return server() + " refused the login as " + user + " (" + reply(e) + "); check the password"
          + " notify[].password refers to (" + password.reference() + ") and notify[].user";
    }
    if (t instanceof MessagingException e && e.getMessage() != null && e.getMessage().contains("STARTTLS is required")) {
      return server() + " does not offer STARTTLS, which security: starttls requires, so nothing was sent; if it"
          + " takes TLS from the first byte (usually port 465), set notify[].security to tls";
    }
    Throwable cause = t;
    for (Throwable c = t; c != null; c = next(c)) {
      if (c instanceof UnknownHostException) {
        return "cannot resolve " + host + "; check notify[].host";
      }
      if (c instanceof ConnectException) {
        return "could not connect to " + server() + " (" + first(c, "connection refused") + ")";
      }
      if (c instanceof SocketTimeoutException) {
        return server() + " did not answer within " + limit();
      }
      if (c instanceof SSLException || c instanceof java.security.cert.CertificateException) {
        return "TLS with " + server() + " failed (" + first(c, c.getClass().getSimpleName()) + "); if its certificate"
            + " is signed by your own certificate authority, name that in notify[].ca-certificate";
      }
      if (c instanceof SendFailedException) {
        cause = c;
      }
    }
    if (cause instanceof SendFailedException e) {
      return server() + " refused the message: " + reply(e);
    }
    return "sending to " + server() + " failed: " + first(t, t.getClass().getSimpleName());
  }

  private static Throwable next(Throwable t) {
    if (t instanceof MessagingException m && m.getNextException() != null && m.getNextException() != t) {
      return m.getNextException();
    }
    return t.getCause() == t ? null : t.getCause();
  }

  /** The server's answer, deepest first: a SendFailedException holds the one per address in its chain. */
  private static String reply(MessagingException e) {
    String deepest = null;
    for (Throwable c = e; c != null; c = next(c)) {
      if (c.getMessage() != null && !c.getMessage().isBlank()) {
        deepest = c.getMessage();
      }
    }
    return deepest == null ? "no reason given" : deepest.strip().replaceAll("\\s+", " ");
  }

  private static String first(Throwable t, String otherwise) {
    for (Throwable c = t; c != null; c = next(c)) {
      if (c.getMessage() != null && !c.getMessage().isBlank()) {
        return c.getMessage().strip().replaceAll("\\s+", " ");
      }
    }
    return otherwise;
  }

  /** A server's answer is text we do not control: should it ever repeat the password, it stops here. */
  private String mask(String text) {
    if (password == null || text == null) {
      return text;
    }
    try {
      String secret = password.reveal();
      return secret.isEmpty() ? text : text.replace(secret, "***");
    } catch (SnapstashException e) {
      return text;
    }
  }

  private String recipients() {
    return String.join(", ", to.stream().map(InternetAddress::getAddress).toList());
  }

  /** The limit as configured ("10s", "1500ms"), for the log. */
  private String limit() {
    return timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + "s" : timeout.toMillis() + "ms";
  }
}
