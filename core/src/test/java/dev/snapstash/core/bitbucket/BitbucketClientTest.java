package dev.snapstash.core.bitbucket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.bitbucket.ScriptedBitbucket.Answer;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.http.HttpTransport;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client against answers a real Bitbucket, or what stands in front of it, may give, over real HTTP on loopback:
 * each case the sandbox cannot produce on cue in this module.
 */
class BitbucketClientTest {
  private static final Instant NOW = Instant.parse("2026-03-01T10:00:00Z");
  private static final String SECRET = "s3cret-Pa55";

  ScriptedBitbucket bb;
  final List<Duration> slept = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    bb = new ScriptedBitbucket();
  }

  @AfterEach
  void stop() {
    bb.close();
  }

  private BitbucketClient client(BitbucketClient.Credentials credentials, Duration rateLimitWait) {
    return new BitbucketClient(new BitbucketClient.Settings(
        bb.baseUrl(), credentials, HttpTransport.direct(), Duration.ofSeconds(5), rateLimitWait, slept::add,
        Clock.fixed(NOW, ZoneOffset.UTC)));
  }

  private BitbucketClient basic() {
    return client(new BitbucketClient.Credentials.Basic("backup", () -> SECRET), Duration.ofMinutes(2));
  }

  @Test
  void rateLimitingIsWaitedOutAsRetryAfterSaysInSecondsOrAsADateAndTheLockIsTakenOnce() {
    String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(NOW.plusSeconds(5).atZone(ZoneOffset.UTC));
    bb.on("POST /bitbucket/mvc/maintenance/lock",
        Answer.error(429, "com.atlassian.bitbucket.throttle.RateLimitExceededException", "slow down").with("Retry-After", "3"),
        Answer.error(429, "com.atlassian.bitbucket.throttle.RateLimitExceededException", "slow down").with("Retry-After", date),
        Answer.json(202, "{\"unlockToken\":\"u1\"}"));
    assertThat(basic().lock()).isEqualTo("u1");
    assertThat(slept).containsExactly(Duration.ofSeconds(3), Duration.ofSeconds(5));
    assertThat(bb.count("POST /bitbucket/mvc/maintenance/lock")).isEqualTo(3);
  }

  @Test
  void rateLimitingWithoutRetryAfterBacksOffAndGivesUpAtTheConfiguredWait() {
    bb.on("POST /bitbucket/mvc/maintenance/lock",
        Answer.error(429, "com.atlassian.bitbucket.throttle.RateLimitExceededException", "slow down"));
    BitbucketClient c = client(new BitbucketClient.Credentials.Basic("backup", () -> SECRET), Duration.ofSeconds(10));
    assertThatThrownBy(c::lock)
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining("HTTP 429").hasMessageContaining("backup.rate-limit-wait")
        .hasMessageContaining("rate-limit/settings/users")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.UNREACHABLE);
    assertThat(slept).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4));
  }

  @Test
  void progressIsNotRetriedOnRateLimiting() {
    bb.on("POST /bitbucket/mvc/admin/backups/progress/client",
        Answer.error(429, "com.atlassian.bitbucket.throttle.RateLimitExceededException", "slow down").with("Retry-After", "1"));
    assertThatThrownBy(() -> basic().progress("u1", 50)).hasMessageContaining("HTTP 429");
    assertThat(bb.count("POST /bitbucket/mvc/admin/backups/progress/client")).isEqualTo(1);
    assertThat(slept).isEmpty();
  }

  @Test
  void aCaptchaIsReportedAsSuchAndNoFurtherLoginIsSent() {
    bb.on("GET /bitbucket/rest/api/1.0/admin/cluster",
        Answer.error(401, "com.atlassian.bitbucket.auth.CaptchaRequiredAuthenticationException", "CAPTCHA required")
            .with(BitbucketClient.DENIED_REASON_HEADER, "CAPTCHA_CHALLENGE; login-url=http://x/login"));
    BitbucketClient c = basic();
    assertThatThrownBy(c::cluster)
        .hasMessageContaining("CAPTCHA").hasMessageContaining("backup").hasMessageNotContaining("wrong password")
        .hasMessageNotContaining("lacks").hasMessageNotContaining(SECRET)
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.AUTHENTICATION);
    assertThatThrownBy(() -> c.unlock("u1")).hasMessageContaining("CAPTCHA").hasMessageContaining("no further login");
    assertThat(bb.seen()).filteredOn(s -> s.authorization() != null).hasSize(1);
  }

  @Test
  void aRefusedPasswordIsNeverSentAgain() {
    bb.on("GET /bitbucket/rest/api/1.0/admin/cluster",
        Answer.error(401, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException", "Authentication failed"));
    BitbucketClient c = basic();
    assertThatThrownBy(c::cluster)
        .hasMessageContaining("HTTP 401").hasMessageContaining("instance.username and instance.password")
        .hasMessageNotContaining(SECRET);
    assertThatThrownBy(c::lock).hasMessageContaining("no further login");
    assertThatThrownBy(() -> c.cancel("c1")).hasMessageContaining("no further login");
    assertThat(bb.seen()).filteredOn(s -> s.authorization() != null).hasSize(1);
  }

  /** The OAS documents 401 for a missing permission: the exception name tells it from a wrong password. */
  @Test
  void aMissingPermissionAnsweredWith401IsNamedAndDoesNotStopLaterLogins() {
    bb.on("GET /bitbucket/rest/api/1.0/admin/cluster",
        Answer.error(401, "com.atlassian.bitbucket.AuthorisationException", "You are not permitted"));
    BitbucketClient c = basic();
    assertThatThrownBy(c::cluster)
        .hasMessageContaining("lacks the SYSADMIN permission").hasMessageContaining("HTTP 401")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.AUTHENTICATION);
    assertThatThrownBy(c::cluster).hasMessageNotContaining("no further login");
    assertThat(bb.count("GET /bitbucket/rest/api/1.0/admin/cluster")).isEqualTo(2);
  }

  @Test
  void anAccessTokenIsSentAsBearerAndItsMissingSysadminExplained() {
    bb.on("GET /bitbucket/rest/api/1.0/admin/cluster",
        Answer.error(401, "com.atlassian.bitbucket.AuthorisationException", "You are not permitted"));
    BitbucketClient c = client(new BitbucketClient.Credentials.Bearer(() -> "tok-123"), Duration.ofMinutes(1));
    assertThatThrownBy(c::cluster)
        .hasMessageContaining("instance.token").hasMessageContaining("never gives a token SYSADMIN")
        .hasMessageNotContaining("tok-123");
    assertThat(bb.seen()).filteredOn(s -> s.authorization() != null).first()
        .satisfies(s -> assertThat(s.authorization()).isEqualTo("Bearer tok-123"));
  }

  @Test
  void theClusterIsReadInTheOasShape() {
    BitbucketClient.Cluster c = basic().cluster();
    assertThat(c.running()).isTrue();
    assertThat(c.nodes()).extracting(BitbucketClient.Node::name).containsExactly("node-a", "node-b");
    assertThat(c.nodes().get(0).describe()).isEqualTo("node-a (node-a.example.com:5701, 8.19.1, the node that answered)");
    assertThat(c.nodes().get(1).port()).isEqualTo(5701);
  }

  @Test
  void aWrongPathInTheBaseUrlIsAConfigurationErrorNamingIt() {
    bb.on("GET /bitbucket/rest/api/1.0/application-properties",
        Answer.error(404, "com.atlassian.bitbucket.NoSuchResourceException", "not found"));
    assertThatThrownBy(() -> basic().version())
        .hasMessageContaining("instance.base-url").hasMessageContaining("HTTP 404")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.CONFIG);

    bb.on("GET /bitbucket/rest/api/1.0/application-properties",
        new Answer(200, java.util.Map.of("Content-Type", "text/html"), "<html><body>Welcome</body></html>"));
    assertThatThrownBy(() -> basic().version())
        .hasMessageContaining("instance.base-url")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.CONFIG);
  }

  @Test
  void a503IsToldApartByStatus() {
    bb.on("POST /bitbucket/mvc/maintenance/lock",
        Answer.error(503, "com.atlassian.bitbucket.maintenance.MaintenanceModeException", "in maintenance"));
    bb.on("GET /bitbucket/status", Answer.json(503, "{\"state\":\"MAINTENANCE\"}"));
    assertThatThrownBy(() -> basic().lock())
        .hasMessageContaining("already in maintenance mode").hasMessageContaining("nothing was locked")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.LOCK);

    bb.on("GET /bitbucket/status", Answer.json(200, "{\"state\":\"STARTING\"}"));
    assertThatThrownBy(() -> basic().lock())
        .hasMessageContaining("STARTING").hasMessageNotContaining("maintenance mode")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.UNREACHABLE);

    bb.on("GET /bitbucket/status", new Answer(503, java.util.Map.of("Content-Type", "text/html"), "<html>503</html>"));
    assertThatThrownBy(() -> basic().lock())
        .hasMessageContaining("proxy or load balancer").hasMessageNotContaining("maintenance mode")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.UNREACHABLE);
  }

  @Test
  void aRedirectToALoginPageOrElsewhereIsRefusedWithTheCause() {
    bb.on("GET /bitbucket/rest/api/1.0/admin/cluster",
        new Answer(302, java.util.Map.of("Location", "https://sso.example.com/idp/login?return=/bitbucket"), ""));
    assertThatThrownBy(() -> basic().cluster())
        .hasMessageContaining("login page").hasMessageContaining("https://sso.example.com/idp/login")
        .hasMessageNotContaining("return=").hasMessageContaining("instance.base-url")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.CONFIG);

    bb.on("GET /bitbucket/rest/api/1.0/admin/cluster",
        new Answer(301, java.util.Map.of("Location", "http://elsewhere.example.com/bitbucket/rest/api/1.0/admin/cluster"), ""));
    assertThatThrownBy(() -> basic().cluster())
        .hasMessageContaining("redirected to http://elsewhere.example.com").hasMessageContaining("instance.base-url")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.CONFIG);
  }

  @Test
  void requestsSpeakHttp11() {
    basic().version();
    assertThat(bb.seen()).allSatisfy(s -> assertThat(s.version()).isEqualTo("HTTP/1.1"));
  }

  @Test
  void statusIsReadWithoutCredentialsWhateverItsHttpStatus() {
    bb.on("GET /bitbucket/status", Answer.json(503, "{\"state\":\"MAINTENANCE\"}"));
    assertThat(basic().serverState()).contains("MAINTENANCE");
    bb.on("GET /bitbucket/status", Answer.hangUp());
    assertThat(basic().serverState()).isEmpty();
    assertThat(bb.seen()).allSatisfy(s -> assertThat(s.authorization()).isNull());
  }
}
