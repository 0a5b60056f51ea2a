package dev.snapstash.strategy.notify.email;

import dev.snapstash.core.config.Key;
import dev.snapstash.core.config.Secret;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The keys of an {@code email} entry of {@code notify}. Checks that need more than one key are made here, so the
 * loader reports them with the entry's index, file and line.
 */
public record EmailSettings(
    @Key(doc = "Email: the SMTP server's host name (the name its certificate is checked against).", required = true)
        String host,
    @Key(doc = "Email: the SMTP server's port; absent: 587 for starttls, 465 for tls, 25 for none.") int port,
    @Key(
            doc =
                "Email: `starttls` (the connection must be upgraded with STARTTLS, or nothing is sent), `tls` (TLS"
                    + " from the first byte, usually port 465) or `none` (plain text; only without a password). The"
                    + " server's certificate is always checked, host name included.",
            def = "starttls")
        String security,
    @Key(doc = "Email: the user to log in as; absent: send without logging in (a relay that trusts this host).")
        String user,
    @Key(doc = "Email: the password of `user`, as a secret reference.", secret = true) Secret password,
    @Key(doc = "Email: the sender's address, such as `snapstash@example.com`.", required = true) String from,
    @Key(doc = "Email: the recipients' addresses; at least one.", required = true) List<String> to,
    @Key(
            doc =
                "Email: the subject line; `{instance}`, `{operation}`, `{outcome}` (succeeded or FAILED) and `{tag}`"
                    + " are replaced.",
            def = "'[snapstash] {instance}: {operation} {outcome}'")
        String subject,
    @Key(doc = "Email: `always` (every run) or `failure` (only runs that failed).", def = "always") String when,
    @Key(
            doc =
                "Email: PEM file of the certificate authority (or authorities) to trust for the server's"
                    + " certificate instead of the Java runtime's, for a relay with a certificate of your own CA.")
        Path caCertificate,
    @Key(
            doc =
                "How long one notification may take in all: connecting, sending and the whole answer. A receiver"
                    + " that takes longer is given up on with a warning; the run's result stands.",
            def = "10s")
        Duration timeout) {

  /** The placeholders {@link #subject} may hold. */
  static final List<String> PLACEHOLDERS = List.of("instance", "operation", "outcome", "tag");

  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^}]*)}");

  public EmailSettings {
    to = to == null ? List.of() : List.copyOf(to);
    if (to.isEmpty()) {
      throw new IllegalArgumentException("to is empty; give at least one recipient address");
    }
    address("from", from);
    for (String t : to) {
      address("to", t);
    }
    if (subject != null) {
      Matcher m = PLACEHOLDER.matcher(subject);
      while (m.find()) {
        if (!PLACEHOLDERS.contains(m.group(1))) {
          throw new IllegalArgumentException("subject holds {" + m.group(1) + "}; the placeholders are {"
              + String.join("}, {", PLACEHOLDERS) + "}");
        }
      }
      if (subject.indexOf('\n') >= 0 || subject.indexOf('\r') >= 0) {
        throw new IllegalArgumentException("subject must be one line");
      }
    }
    if ((user == null) != (password == null)) {
      throw new IllegalArgumentException(
          user == null ? "password is set but user is not; give both, or neither" : "user is set but password is not; give both, or neither");
    }
    if (password != null && "none".equals(security)) {
      throw new IllegalArgumentException(
          "a password is only sent over an encrypted connection; set security to starttls or tls, or leave out user"
              + " and password for a relay that needs no login");
    }
  }

  private static void address(String key, String text) {
    try {
      InternetAddress a = new InternetAddress(text, true);
      if (a.getAddress() == null || !a.getAddress().contains("@")) {
        throw new AddressException("no @");
      }
    } catch (AddressException e) {
      throw new IllegalArgumentException(key + ": '" + text + "' is not an email address such as backup@example.com");
    }
  }

  /** The port to connect to: the configured one, or the usual one of the security chosen. */
  int effectivePort() {
    if (port != 0) {
      return port;
    }
    return switch (security.toLowerCase(Locale.ROOT)) {
      case "tls" -> 465;
      case "none" -> 25;
      default -> 587;
    };
  }
}
