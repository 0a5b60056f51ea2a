package dev.snapstash.core.http;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * Which proxy a request goes through, decided as curl decides it, so that a backup host's proxy settings mean the
 * same to snapstash as to the {@code curl} an administrator tests with: {@code https_proxy}/{@code HTTPS_PROXY} for
 * https, {@code http_proxy} for http (lower case only: curl ignores {@code HTTP_PROXY}, which a CGI program's
 * request header can set), {@code all_proxy}/{@code ALL_PROXY} for both, and {@code no_proxy}/{@code NO_PROXY} for
 * hosts reached directly. The lower-case variable wins where both are set. A configured proxy replaces the
 * variables' proxies; {@code NO_PROXY} still applies to it, as it does to {@code curl --proxy}.
 *
 * @param http the proxy for http URLs, or null for none
 * @param https the proxy for https URLs, or null for none
 * @param noProxy the {@code NO_PROXY} entries, lower case, without leading dots
 * @param source where the proxies came from, for messages ("instance.proxy", "https_proxy", …)
 * @param ignored variables set but not honoured, with the reason, for a warning
 */
public record ProxyRules(URI http, URI https, List<String> noProxy, String source, List<String> ignored) {
  /** Direct connections only. */
  public static final ProxyRules NONE = new ProxyRules(null, null, List.of(), "none", List.of());

  public ProxyRules {
    noProxy = List.copyOf(noProxy);
    ignored = List.copyOf(ignored);
  }

  /**
   * The rules for a configured {@code instance.proxy} value and an environment.
   *
   * @param configured empty or null: the environment's variables; {@code none}: always direct; else a proxy URL
   * @throws SnapstashException (CONFIG) for a proxy this client cannot use, naming the key or variable
   */
  public static ProxyRules of(String configured, Function<String, String> env) {
    List<String> noProxy = noProxy(first(env, "no_proxy", "NO_PROXY"));
    String c = configured == null ? "" : configured.strip();
    if (c.equalsIgnoreCase("none")) {
      return NONE;
    }
    if (!c.isEmpty()) {
      URI p = proxyUri(c, "instance.proxy");
      return new ProxyRules(p, p, noProxy, "instance.proxy", List.of());
    }
    List<String> ignored = new ArrayList<>();
    String all = first(env, "all_proxy", "ALL_PROXY");
    String httpVar = nonEmpty(env.apply("http_proxy")) != null ? "http_proxy" : all != null ? allName(env) : null;
    String httpsVar = nonEmpty(env.apply("https_proxy")) != null ? "https_proxy"
        : nonEmpty(env.apply("HTTPS_PROXY")) != null ? "HTTPS_PROXY" : all != null ? allName(env) : null;
    if (nonEmpty(env.apply("HTTP_PROXY")) != null && nonEmpty(env.apply("http_proxy")) == null) {
      ignored.add("HTTP_PROXY (as curl does: set http_proxy in lower case)");
    }
    URI http = httpVar == null ? null : proxyUri(env.apply(httpVar), httpVar);
    URI https = httpsVar == null ? null : proxyUri(env.apply(httpsVar), httpsVar);
    String source = http == null && https == null ? "environment (no proxy set)"
        : String.join(", ", new java.util.LinkedHashSet<>(
            java.util.stream.Stream.of(httpVar, httpsVar).filter(java.util.Objects::nonNull).toList()));
    return new ProxyRules(http, https, noProxy, source, ignored);
  }

  private static String allName(Function<String, String> env) {
    return nonEmpty(env.apply("all_proxy")) != null ? "all_proxy" : "ALL_PROXY";
  }

  /** The proxy for this URL, or empty for a direct connection. */
  public Optional<URI> proxyFor(URI target) {
    String scheme = target.getScheme() == null ? "" : target.getScheme().toLowerCase(Locale.ROOT);
    URI p = scheme.equals("https") ? https : http;
    if (p == null || bypassed(target.getHost())) {
      return Optional.empty();
    }
    return Optional.of(p);
  }

  /** Whether NO_PROXY sends this host direct: {@code *}, the host itself, a domain it is in, or an address block. */
  public boolean bypassed(String host) {
    if (host == null) {
      return true;
    }
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    for (String entry : noProxy) {
      if (entry.equals("*") || h.equals(entry) || h.endsWith("." + entry) || inBlock(h, entry)) {
        return true;
      }
    }
    return false;
  }

  /** The rules as the HTTP client asks for them. */
  public ProxySelector selector() {
    return new ProxySelector() {
      @Override
      public List<Proxy> select(URI uri) {
        return proxyFor(uri)
            .map(p -> List.of(new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(p.getHost(), port(p)))))
            .orElse(List.of(Proxy.NO_PROXY));
      }

      @Override
      public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
        // The request fails with its own error, which names the proxy; there is no second proxy to try.
      }
    };
  }

  /** One line for logs and {@code check}: which proxy serves a URL and why. */
  public String describe(URI target) {
    return proxyFor(target).map(p -> "through proxy " + p + " (" + source + ")")
        .orElse(http == null && https == null ? "direct" : "direct (NO_PROXY)");
  }

  private static int port(URI p) {
    return p.getPort() > 0 ? p.getPort() : 1080;
  }

  private static URI proxyUri(String value, String name) {
    String v = value.strip();
    if (!v.contains("://")) {
      v = "http://" + v; // curl's default scheme for a proxy
    }
    URI u;
    try {
      u = new URI(v);
    } catch (URISyntaxException e) {
      throw SnapstashException.config(name + " is not a proxy URL like http://proxy.example.com:3128");
    }
    if (!"http".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
      throw SnapstashException.config(
          name + " names a " + u.getScheme() + " proxy; snapstash speaks to HTTP proxies only (http://host:port),"
              + " which tunnel https with CONNECT");
    }
    if (u.getRawUserInfo() != null) {
      throw SnapstashException.config(
          name + " holds a user name or password, and proxy authentication is not supported: allow the backup"
              + " host through the proxy, or add the Bitbucket host to NO_PROXY");
    }
    try {
      return new URI("http", null, u.getHost(), u.getPort() > 0 ? u.getPort() : 1080, null, null, null);
    } catch (URISyntaxException e) {
      throw SnapstashException.config(name + " is not a proxy URL like http://proxy.example.com:3128");
    }
  }

  private static List<String> noProxy(String value) {
    List<String> out = new ArrayList<>();
    if (value == null) {
      return out;
    }
    for (String raw : value.split("[,\\s]+")) {
      String e = raw.strip().toLowerCase(Locale.ROOT);
      while (e.startsWith(".")) {
        e = e.substring(1);
      }
      if (e.startsWith("[") && e.contains("]")) {
        e = e.substring(1, e.indexOf(']')) + e.substring(e.indexOf(']') + 1);
      }
      if (!e.isEmpty()) {
        out.add(e);
      }
    }
    return out;
  }

  /** An address in a CIDR block ({@code 10.0.0.0/8}, {@code fd00::/8}), as curl 7.86 and later match them. */
  private static boolean inBlock(String host, String entry) {
    int slash = entry.indexOf('/');
    if (slash < 0 || !isAddress(host) || !isAddress(entry.substring(0, slash))) {
      return false;
    }
    try {
      byte[] a = InetAddress.getByName(host).getAddress();
      byte[] b = InetAddress.getByName(entry.substring(0, slash)).getAddress();
      int bits = Integer.parseInt(entry.substring(slash + 1));
      if (a.length != b.length || bits < 0 || bits > a.length * 8) {
        return false;
      }
      for (int i = 0; i < bits; i++) {
        int mask = 0x80 >> (i % 8);
        if ((a[i / 8] & mask) != (b[i / 8] & mask)) {
          return false;
        }
      }
      return true;
    } catch (UnknownHostException | NumberFormatException e) {
      return false;
    }
  }

  /** A literal address; never a name (which would mean a DNS lookup just to choose a proxy). */
  private static boolean isAddress(String s) {
    return s.matches("[0-9.]+") || (s.contains(":") && s.matches("[0-9a-f:.]+"));
  }

  private static String first(Function<String, String> env, String lower, String upper) {
    String v = nonEmpty(env.apply(lower));
    return v != null ? v : nonEmpty(env.apply(upper));
  }

  private static String nonEmpty(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
