package dev.snapstash.strategy.notify.email;

import dev.snapstash.core.config.Rules;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Clock;
import java.util.Collection;
import java.util.Map;
import java.util.function.UnaryOperator;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/** {@code notify[].type: email}: run reports mailed over SMTP. */
public final class EmailProvider implements Provider<EmailSettings, Notifier> {
  @Override
  public StrategyKind kind() {
    return StrategyKind.NOTIFY;
  }

  @Override
  public String name() {
    return "email";
  }

  @Override
  public String summary() {
    return "a plain-text email over SMTP (STARTTLS or TLS, with a login whose password is a secret reference)";
  }

  @Override
  public Class<EmailSettings> settingsType() {
    return EmailSettings.class;
  }

  @Override
  public Map<String, UnaryOperator<Object>> rules() {
    return Map.of(
        "port", Rules.port(),
        "security", Rules.oneOf("starttls", "tls", "none"),
        "when", Rules.oneOf("always", "failure"));
  }

  @Override
  public Notifier create(EmailSettings s, Services services) {
    SSLSocketFactory trust = s.caCertificate() == null ? null : trusting(s.caCertificate());
    return new EmailNotifier(s, trust, Clock.systemUTC());
  }

  /** TLS sockets that trust the certificates in {@code pem} and nothing else. */
  static SSLSocketFactory trusting(Path pem) {
    Collection<? extends Certificate> certs;
    try (InputStream in = Files.newInputStream(pem)) {
      certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (IOException e) {
      throw SnapstashException.config("notify[].ca-certificate: cannot read " + pem + ": " + e.getClass().getSimpleName());
    } catch (GeneralSecurityException e) {
      throw SnapstashException.config("notify[].ca-certificate: " + pem + " holds no PEM certificate");
    }
    if (certs.isEmpty()) {
      throw SnapstashException.config("notify[].ca-certificate: " + pem + " holds no PEM certificate");
    }
    try {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx.getSocketFactory();
    } catch (GeneralSecurityException | IOException e) {
      throw SnapstashException.internal("cannot set up TLS with " + pem, e);
    }
  }
}
