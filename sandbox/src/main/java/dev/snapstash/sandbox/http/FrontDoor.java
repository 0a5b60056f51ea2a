package dev.snapstash.sandbox.http;

import dev.snapstash.sandbox.SandboxKnobs;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import org.eclipse.jetty.http.HttpHeader;

/**
 * What stands before Bitbucket in a real deployment and answers in its place, each turned on by a knob: a node
 * still starting or a proxy whose node is down, a single sign-on gateway, and Data Center's rate limiter. Every
 * area but the knobs sits behind it, so a test can always turn it off again.
 */
final class FrontDoor {
  private final SandboxKnobs knobs;
  private final String baseUrl;
  private final RateLimiter rateLimiter = new RateLimiter();

  FrontDoor(SandboxKnobs knobs, String baseUrl) {
    this.knobs = knobs;
    this.baseUrl = baseUrl;
  }

  /** Whether the request was answered here, and must go no further. */
  boolean answered(Exchange x) {
    return answeredAsUnavailable(x) || answeredWithLoginRedirect(x) || rateLimited(x);
  }

  private boolean answeredAsUnavailable(Exchange x) {
    SandboxKnobs.Unavailable u = knobs.unavailable();
    if (u == null) {
      return false;
    }
    if (u == SandboxKnobs.Unavailable.STARTING) {
      if (x.path().equals("/status")) {
        x.json(503, Exchange.map("state", "STARTING"));
      } else {
        x.html(503, "<html><body><h1>Bitbucket is starting up</h1></body></html>\n");
      }
    } else {
      x.html(503,
          "<html><head><title>503 Service Unavailable</title></head><body><center><h1>503 Service Temporarily"
              + " Unavailable</h1></center><hr><center>nginx</center></body></html>\n");
    }
    return true;
  }

  /** Load balancers poll {@code /status} without logging in, so the gateway lets it through. */
  private boolean answeredWithLoginRedirect(Exchange x) {
    if (!knobs.loginRedirect() || x.path().equals("/status")) {
      return false;
    }
    x.response().setStatus(302);
    x.response().getHeaders().put(HttpHeader.LOCATION,
        baseUrl + "/plugins/servlet/samlsso?redirectTo=" + URLEncoder.encode(x.path(), StandardCharsets.UTF_8));
    x.response().write(true, null, x.callback());
    return true;
  }

  /**
   * Requests with credentials take a token from their user's bucket (the bucket is keyed by the name or token the
   * header claims: a wrong password is rate limited like a right one). An empty bucket is answered 429 with the
   * wait until the next token, in seconds or as a date.
   */
  private boolean rateLimited(Exchange x) {
    SandboxKnobs.RateLimit limit = knobs.rateLimit();
    String authorization = x.request().getHeaders().get(HttpHeader.AUTHORIZATION);
    if (limit == null || authorization == null) {
      return false;
    }
    long waitMillis = rateLimiter.take(claimedUser(authorization), limit);
    if (waitMillis == 0) {
      return false;
    }
    long seconds = Math.max(1, (waitMillis + 999) / 1000);
    x.response().getHeaders().put("Retry-After", limit.retryAfterAsDate()
        ? DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(seconds + 1))
        : Long.toString(seconds));
    x.error(429, "Too many requests: the rate limit for this user is exceeded.",
        "com.atlassian.bitbucket.throttle.RateLimitExceededException");
    return true;
  }

  private static String claimedUser(String authorization) {
    if (authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      try {
        String d = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
        return "user:" + d.substring(0, Math.max(0, d.indexOf(':')));
      } catch (IllegalArgumentException e) {
        return "malformed";
      }
    }
    return "token:" + Integer.toHexString(authorization.hashCode());
  }

  /** Requests answered 429 so far. */
  int rateLimitedRequests() {
    return rateLimiter.refused();
  }

  /** A new rate limit starts from full buckets. */
  void resetRateLimits() {
    rateLimiter.reset();
  }
}
