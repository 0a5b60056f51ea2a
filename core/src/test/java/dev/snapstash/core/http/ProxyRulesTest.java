package dev.snapstash.core.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Proxy choice as curl makes it, from the same variables. */
class ProxyRulesTest {
  private static final URI HTTPS = URI.create("https://bitbucket.example.com/bitbucket");
  private static final URI HTTP = URI.create("http://bitbucket.example.com:7990");

  private static ProxyRules env(Map<String, String> vars) {
    return ProxyRules.of("", vars::get);
  }

  @Test
  void httpsAndHttpProxiesComeFromTheirVariablesLowerCaseFirst() {
    ProxyRules r = env(Map.of("HTTPS_PROXY", "http://upper:1", "https_proxy", "lower:3128", "http_proxy", "http://p:8080"));
    assertThat(r.proxyFor(HTTPS)).contains(URI.create("http://lower:3128"));
    assertThat(r.proxyFor(HTTP)).contains(URI.create("http://p:8080"));
    assertThat(env(Map.of("HTTPS_PROXY", "http://upper:1")).proxyFor(HTTPS)).contains(URI.create("http://upper:1"));
  }

  /** curl honours http_proxy only in lower case: a CGI program's request header can set HTTP_PROXY (httpoxy). */
  @Test
  void upperCaseHttpProxyIsIgnoredAsCurlDoesAndSaidSo() {
    ProxyRules r = env(Map.of("HTTP_PROXY", "http://p:8080"));
    assertThat(r.proxyFor(HTTP)).isEmpty();
    assertThat(r.ignored()).singleElement().asString().contains("HTTP_PROXY");
  }

  @Test
  void allProxyServesBothWhenNothingMoreSpecificIsSet() {
    ProxyRules r = env(Map.of("ALL_PROXY", "http://all:3128"));
    assertThat(r.proxyFor(HTTPS)).contains(URI.create("http://all:3128"));
    assertThat(r.proxyFor(HTTP)).contains(URI.create("http://all:3128"));
  }

  @Test
  void noProxyMatchesHostsDomainsAddressBlocksAndStar() {
    ProxyRules r = env(Map.of("https_proxy", "http://p:3128", "http_proxy", "http://p:3128",
        "NO_PROXY", "localhost, .internal.example.com,10.0.0.0/8 ,[::1]"));
    assertThat(r.bypassed("localhost")).isTrue();
    assertThat(r.bypassed("git.internal.example.com")).isTrue();
    assertThat(r.bypassed("internal.example.com")).isTrue();
    assertThat(r.bypassed("notinternal.example.com")).isFalse();
    assertThat(r.bypassed("10.1.2.3")).isTrue();
    assertThat(r.bypassed("11.1.2.3")).isFalse();
    assertThat(r.bypassed("[::1]")).isTrue();
    assertThat(r.proxyFor(URI.create("https://git.internal.example.com/"))).isEmpty();
    assertThat(r.proxyFor(HTTPS)).isPresent();
    assertThat(env(Map.of("https_proxy", "p:1", "no_proxy", "*")).proxyFor(HTTPS)).isEmpty();
  }

  @Test
  void theConfiguredProxyWinsButNoProxyStillApplies() {
    ProxyRules r = ProxyRules.of("proxy.corp:3128", Map.of("https_proxy", "http://other:1", "NO_PROXY", "bitbucket.example.com")::get);
    assertThat(r.proxyFor(URI.create("https://elsewhere.example.com"))).contains(URI.create("http://proxy.corp:3128"));
    assertThat(r.proxyFor(HTTPS)).isEmpty();
    assertThat(ProxyRules.of("none", Map.of("https_proxy", "http://other:1")::get).proxyFor(HTTPS)).isEmpty();
  }

  @Test
  void proxiesThisClientCannotUseAreConfigurationErrorsNamingTheirSource() {
    assertThatThrownBy(() -> env(Map.of("https_proxy", "socks5://p:1080"))).hasMessageContaining("https_proxy")
        .hasMessageContaining("HTTP proxies only");
    assertThatThrownBy(() -> ProxyRules.of("http://user:pw@p:3128", k -> null)).hasMessageContaining("instance.proxy")
        .hasMessageNotContaining("pw@");
  }
}
