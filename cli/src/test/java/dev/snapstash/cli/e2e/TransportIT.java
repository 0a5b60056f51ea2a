package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.api.Composition;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.sandbox.SandboxKnobs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * snapstash against the sandbox as administrators run Bitbucket: TLS with a self-signed certificate under a context
 * path, an http port redirecting to https, a forwarding proxy, access tokens, rate limiting, CAPTCHA, a node that
 * is starting or a proxy whose Bitbucket is down, a wrong path in the base URL.
 */
class TransportIT {
  @TempDir Path tmp;

  /** A run with what it logs (logback writes to System.err, outside the command line's own stderr). */
  private static Scenario.Run logged(String... args) {
    java.io.PrintStream original = System.err;
    java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      Scenario.Run r = snapstash(args);
      return new Scenario.Run(r.exit(), r.out(), r.err() + log.toString(java.nio.charset.StandardCharsets.UTF_8));
    } finally {
      System.setErr(original);
    }
  }

  private Scenario tls() {
    return Scenario.start(tmp.resolve("sb"), DbKind.H2, null, o -> o.withTls(true).withContextPath("/bitbucket"));
  }

  @Test
  void aBackupAndRestoreThroughTlsUnderAContextPath() throws Exception {
    try (Scenario s = tls()) {
      assertThat(s.sandbox.baseUrl()).startsWith("https://").endsWith("/bitbucket");
      assertThat(Files.readString(s.config())).contains("ca-file: " + s.sandbox.caFile());
      Scenario.Run check = snapstash("-c", s.config().toString(), "check");
      assertThat(check.exit()).as(check.err()).isZero();
      assertThat(check.out()).contains("credentials accepted with the SYSADMIN permission; 1 node: sandbox-node-1");
      Scenario.Run backup = snapstash("-c", s.config().toString(), "--json", "backup");
      assertThat(backup.exit()).as(backup.err()).isZero();
      assertThat(s.sandbox.maintenance().task().orElseThrow().state()).isEqualTo("SUCCESSFUL");
      String tag = backup.json().path("tag").asText();
      assertThat(Files.readString(s.backups().resolve(tag).resolve("manifest.json")))
          .contains("\"nodes\"").contains("sandbox-node-1");
      Scenario.Run restore = snapstash("-c", s.config().toString(), "restore", "latest", "--home-target",
          tmp.resolve("restored").toString());
      assertThat(restore.exit()).as(restore.err()).isZero();
      assertThat(tmp.resolve("restored/shared/data/repositories")).isDirectory();
      // The drill serves the copy as the instance is served (https, /bitbucket) and clones every repository.
      Scenario.Run drill = snapstash("-c", s.config().toString(), "--json", "verify", "--drill");
      assertThat(drill.exit()).as(drill.out() + drill.err()).isZero();
      assertThat(drill.out()).contains("drill-clone").contains("3 repositories cloned over HTTP");
    }
  }

  @Test
  void theQuickstartRunsOverTlsUnderAContextPath() {
    Path dir = tmp.resolve("qs");
    Scenario.Run q = snapstash("--json", "quickstart", "--dir", dir.toString(), "--tls", "--context-path", "/bitbucket");
    assertThat(q.exit()).as(q.err()).isZero();
    assertThat(q.json().path("restoredInstanceUrl").asText()).startsWith("https://").endsWith("/bitbucket");
    assertThat(q.json().path("repositoriesCloned").asInt()).isEqualTo(4);
    assertThat(dir).doesNotExist();
  }

  @Test
  void withoutTheCaFileTheCertificateIsNotTrustedAndTheKeyIsNamed() throws Exception {
    try (Scenario s = tls()) {
      Path noCa = s.configReplacing("  ca-file: " + s.sandbox.caFile() + "\n", "");
      Scenario.Run r = snapstash("-c", noCa.toString(), "check");
      assertThat(r.exit()).isEqualTo(3);
      assertThat(r.out()).contains("not trusted").contains("instance.ca-file");
      Path insecure = s.configReplacing("  ca-file: " + s.sandbox.caFile() + "\n", "  insecure: true\n");
      Scenario.Run i = logged("-c", insecure.toString(), "check");
      assertThat(i.exit()).as(i.out() + i.err()).isZero();
      assertThat(i.err()).contains("instance.insecure is on");
    }
  }

  @Test
  void anHttpBaseUrlRedirectingToHttpsIsFollowedWithAWarningAndNoCredentialsGoOverHttp() throws Exception {
    try (Scenario s = tls()) {
      Path http = s.configReplacing("base-url: " + s.sandbox.baseUrl(), "base-url: " + s.sandbox.state().httpRedirectUrl());
      Scenario.Run backup = logged("-c", http.toString(), "backup");
      assertThat(backup.exit()).as(backup.err()).isZero();
      assertThat(backup.err()).contains("redirects to " + s.sandbox.baseUrl());
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();
    }
  }

  @Test
  void aLoginGatewayIsNamedAsTheCause() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      s.sandbox.knobs().loginRedirect(true);
      Scenario.Run r = snapstash("-c", s.config().toString(), "backup");
      assertThat(r.exit()).isEqualTo(3);
      assertThat(r.err()).contains("login page").contains("instance.base-url");
      assertThat(s.sandbox.maintenance().task()).isEmpty();
    }
  }

  @Test
  void requestsGoThroughTheProxyAndNoProxyBypassesIt() throws Exception {
    try (Scenario s = tls(); LoopbackProxy proxy = new LoopbackProxy()) {
      String hostPort = java.net.URI.create(s.sandbox.baseUrl()).getAuthority();
      Path configured = s.configReplacing("  home: ", "  proxy: " + proxy.url() + "\n  home: ");
      Scenario.Run backup = snapstash("-c", configured.toString(), "backup");
      assertThat(backup.exit()).as(backup.err()).isZero();
      assertThat(proxy.requests()).isNotEmpty().allSatisfy(l -> assertThat(l).isEqualTo("CONNECT " + hostPort + " HTTP/1.1"));

      // The environment's variables, as curl reads them; NO_PROXY sends the sandbox's address direct.
      int before = proxy.requests().size();
      var config = ConfigLoader.load(s.config(), Map.of());
      Findings through = new Findings();
      new Composition(config, new ProcessRunner(), Map.of("https_proxy", proxy.url())::get, "test").quiescer().check(through);
      assertThat(through.hasProblems()).as(through.all().toString()).isFalse();
      assertThat(through.all().toString()).contains("through proxy " + proxy.url());
      assertThat(proxy.requests().size()).isGreaterThan(before);
      int afterThrough = proxy.requests().size();
      Findings direct = new Findings();
      new Composition(config, new ProcessRunner(), Map.of("https_proxy", proxy.url(), "NO_PROXY", "localhost,127.0.0.1")::get, "test")
          .quiescer().check(direct);
      assertThat(direct.hasProblems()).as(direct.all().toString()).isFalse();
      assertThat(proxy.requests()).hasSize(afterThrough);
    }
  }

  @Test
  void anAccessTokenStandsInForThePasswordButCannotLock() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      String yml = Files.readString(s.config());
      String passwordLine = yml.lines().filter(l -> l.startsWith("  password: ")).findFirst().orElseThrow();
      Path token = s.configReplacing(passwordLine, "  token: ${file:" + s.sandbox.state().adminTokenFile() + "}");
      Scenario.Run r = snapstash("-c", token.toString(), "check");
      assertThat(r.exit()).isEqualTo(5);
      assertThat(r.out()).contains("Bitbucket 8.19.1 answers").contains("instance.token").contains("SYSADMIN");
      assertThat(r.out() + r.err()).doesNotContain(s.sandbox.state().adminToken());
      Path both = s.configReplacing(passwordLine, passwordLine + "\n  token: ${env:SOME_TOKEN}");
      Scenario.Run conflict = snapstash("-c", both.toString(), "check");
      assertThat(conflict.exit()).isEqualTo(3);
      assertThat(conflict.err()).contains("instance.password and instance.token exclude each other");
    }
  }

  /**
   * At Data Center's default limit (a bucket of 60, 5 a second) a backup with a long drain is never refused; with
   * a tiny bucket it is refused, waits as told, and still completes.
   */
  @Test
  void rateLimitingIsStayedUnderOrWaitedOut() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      s.sandbox.knobs().rateLimit(new SandboxKnobs.RateLimit(60, 5, false)).minDrain(Duration.ofSeconds(8));
      Scenario.Run r = snapstash("-c", s.config().toString(), "backup");
      assertThat(r.exit()).as(r.err()).isZero();
      assertThat(s.sandbox.rateLimitedRequests()).as("requests refused at the default limit").isZero();

      s.sandbox.knobs().rateLimit(new SandboxKnobs.RateLimit(2, 2, true)).minDrain(Duration.ofMillis(200));
      Scenario.Run tiny = logged("-c", s.config().toString(), "backup");
      assertThat(tiny.exit()).as(tiny.err()).isZero();
      assertThat(s.sandbox.rateLimitedRequests()).isPositive();
      assertThat(tiny.err()).contains("HTTP 429");
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();
    }
  }

  /** Each scheduled run costs one failed login at most, and a CAPTCHA is reported as such. */
  @Test
  void aRefusedLoginIsNeverRetriedAndACaptchaIsNamed() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      s.sandbox.knobs().captchaAfterFailures(2);
      Path wrongFile = tmp.resolve("wrong");
      Files.writeString(wrongFile, "wrong");
      Path wrong = s.configReplacing(s.sandbox.state().adminPasswordFile(), wrongFile.toString());
      for (int run = 1; run <= 2; run++) {
        Scenario.Run r = snapstash("-c", wrong.toString(), "backup");
        assertThat(r.exit()).isEqualTo(5);
        assertThat(r.err()).contains("HTTP 401").doesNotContain("CAPTCHA");
        assertThat(s.sandbox.failedLogins("admin")).as("failed logins after run %d", run).isEqualTo(run);
      }
      Scenario.Run captcha = snapstash("-c", s.config().toString(), "backup");
      assertThat(captcha.exit()).isEqualTo(5);
      assertThat(captcha.err()).contains("CAPTCHA").contains("log in once").doesNotContain("lacks");
      assertThat(s.sandbox.failedLogins("admin")).isEqualTo(3);
      Scenario.Run recover = snapstash("-c", s.config().toString(), "check");
      assertThat(recover.exit()).isEqualTo(5);
      assertThat(s.sandbox.failedLogins("admin")).isEqualTo(4);
      assertThat(s.sandbox.maintenance().task()).isEmpty();
    }
  }

  @Test
  void aStartingNodeOrAProxyIsNotTakenForMaintenance() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      s.sandbox.knobs().unavailable(SandboxKnobs.Unavailable.STARTING);
      Scenario.Run starting = snapstash("-c", s.config().toString(), "backup");
      assertThat(starting.exit()).isEqualTo(4);
      assertThat(starting.err()).contains("STARTING").doesNotContain("maintenance mode");
      s.sandbox.knobs().unavailable(SandboxKnobs.Unavailable.PROXY);
      Scenario.Run proxy = snapstash("-c", s.config().toString(), "backup");
      assertThat(proxy.exit()).isEqualTo(4);
      assertThat(proxy.err()).contains("proxy or load balancer").doesNotContain("maintenance mode");
      s.sandbox.knobs().unavailable(null);
      assertThat(s.backupDirs()).isEmpty();
    }
  }

  @Test
  void aWrongPathInTheBaseUrlIsAConfigurationError() throws Exception {
    try (Scenario s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null)) {
      Path wrong = s.configReplacing("base-url: " + s.sandbox.baseUrl(), "base-url: " + s.sandbox.baseUrl() + "/bitbucket");
      Scenario.Run r = snapstash("-c", wrong.toString(), "backup");
      assertThat(r.exit()).isEqualTo(3);
      assertThat(r.err()).contains("instance.base-url").contains("HTTP 404");
    }
  }
}
