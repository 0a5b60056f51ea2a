package dev.snapstash.core.http;

import dev.snapstash.core.error.SnapstashException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * How snapstash reaches an HTTP server as administrators run them: TLS with a private CA ({@code caFile}, PEM) or
 * a trust store, never a silent "trust everything" ({@code insecure} exists, and whoever wires it warns on every
 * run), proxies as curl chooses them ({@link ProxyRules}), HTTP/1.1 only (no h2c upgrade on {@code http://}, which
 * proxies and load balancers in front of Bitbucket handle badly) and no redirect followed behind the caller's
 * back (the caller decides which redirect is safe). Immutable; {@link #client(Duration)} builds a new client.
 *
 * @param caFile PEM file of the certificates to trust instead of the JVM's, or null
 * @param truststore a PKCS12 or JKS trust store to use instead of the JVM's, or null
 * @param truststorePassword its password, read when the client is built; null for a store without one
 * @param insecure trust any certificate for any host name
 * @param proxies which proxy serves which URL
 */
public record HttpTransport(
    Path caFile, Path truststore, Supplier<String> truststorePassword, boolean insecure, ProxyRules proxies) {

  private static final Pattern PEM =
      Pattern.compile("-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+?)-----END CERTIFICATE-----");

  public HttpTransport {
    if (caFile != null && truststore != null) {
      throw new IllegalArgumentException("instance.ca-file and instance.truststore exclude each other; set one");
    }
    if (insecure && (caFile != null || truststore != null)) {
      throw new IllegalArgumentException(
          "instance.insecure turns certificate checks off, so instance.ca-file and instance.truststore would be"
              + " ignored; remove instance.insecure");
    }
    proxies = proxies == null ? ProxyRules.NONE : proxies;
  }

  /** The JVM's trust store and the process environment's proxies: what a plain {@code curl} would use. */
  public static HttpTransport standard() {
    return new HttpTransport(null, null, null, false, ProxyRules.of("", System::getenv));
  }

  /** The JVM's trust store and no proxy (tests on loopback). */
  public static HttpTransport direct() {
    return new HttpTransport(null, null, null, false, ProxyRules.NONE);
  }

  /** Trusting the certificates of a PEM file, with the environment's proxies. */
  public static HttpTransport trusting(Path caFile, Function<String, String> env) {
    return new HttpTransport(caFile, null, null, false, ProxyRules.of("", env));
  }

  public HttpTransport withProxies(ProxyRules p) {
    return new HttpTransport(caFile, truststore, truststorePassword, insecure, p);
  }

  /** A client with this transport: HTTP/1.1, redirects never followed, the given connect timeout. */
  public HttpClient client(Duration connectTimeout) {
    HttpClient.Builder b =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(connectTimeout)
            .proxy(proxies.selector());
    SSLContext ssl = sslContext();
    if (ssl != null) {
      b.sslContext(ssl);
    }
    return b.build();
  }

  /** The TLS context, or null for the JVM's default (its own trust store). */
  public SSLContext sslContext() {
    try {
      TrustManager[] trust;
      if (insecure) {
        trust = new TrustManager[] {new TrustingAll()};
      } else if (caFile != null) {
        trust = managersFor(pemStore(caFile));
      } else if (truststore != null) {
        trust = managersFor(trustStore(truststore, truststorePassword));
      } else {
        return null;
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, trust, null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw SnapstashException.config("cannot set up TLS with the configured trust material: " + e.getMessage());
    }
  }

  /** What this transport trusts, for {@code check} and logs. */
  public String describeTrust() {
    if (insecure) {
      return "any certificate for any host (instance.insecure)";
    }
    if (caFile != null) {
      return "the certificates in " + caFile + " (instance.ca-file)";
    }
    if (truststore != null) {
      return "the trust store " + truststore + " (instance.truststore)";
    }
    return "the JVM's default trust store";
  }

  private static TrustManager[] managersFor(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    f.init(store);
    return f.getTrustManagers();
  }

  /** The certificates of a PEM file (text around the blocks, as in a CA bundle, is allowed). */
  static KeyStore pemStore(Path file) throws GeneralSecurityException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw SnapstashException.config("cannot read instance.ca-file " + file + ": " + e.getClass().getSimpleName());
    }
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    List<Certificate> certs = new ArrayList<>();
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(m.group(1));
        certs.add(cf.generateCertificate(new ByteArrayInputStream(der)));
      } catch (IllegalArgumentException | GeneralSecurityException e) {
        throw SnapstashException.config(
            "instance.ca-file " + file + " holds a damaged certificate (" + e.getMessage() + ")");
      }
    }
    if (certs.isEmpty()) {
      throw SnapstashException.config(
          "instance.ca-file " + file + " holds no PEM certificate (-----BEGIN CERTIFICATE----- …)");
    }
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    try {
      ks.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    for (int i = 0; i < certs.size(); i++) {
      ks.setCertificateEntry("ca-" + i, certs.get(i));
    }
    return ks;
  }

  private static KeyStore trustStore(Path file, Supplier<String> password) {
    char[] pw = password == null ? null : password.get().toCharArray();
    try {
      return KeyStore.getInstance(file.toFile(), pw);
    } catch (IOException | GeneralSecurityException e) {
      throw SnapstashException.config(
          "cannot read instance.truststore " + file + " as a PKCS12 or JKS trust store (a wrong"
              + " instance.truststore-password?): " + e.getClass().getSimpleName());
    }
  }

  /** instance.insecure: no chain and no host name check (the host name is checked inside the trust manager). */
  private static final class TrustingAll extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
