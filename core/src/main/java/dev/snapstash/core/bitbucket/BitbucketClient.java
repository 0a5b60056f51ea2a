package dev.snapstash.core.bitbucket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.snapstash.core.util.Sleeper;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.http.HttpTransport;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Bitbucket backup protocol over REST, as {@code docs/strategies/quiesce-bitbucket.md} states it with its
 * evidence: version, cluster (credentials and SYSADMIN), lock, start external backup, drain status, progress,
 * unlock, cancel, and the unauthenticated {@code /status}. One method per call; the only policies here are the
 * ones every call shares:
 *
 * <ul>
 *   <li>HTTP 429 (Data Center rate limiting) is waited out as {@code Retry-After} says, up to {@link
 *       Settings#rateLimitWait()} per call. A 429 means the request was refused before it was handled, so sending
 *       it again cannot lock twice or start a second task, and the caller journals once, after the answer.
 *   <li>A login Bitbucket refused is never sent again by this client: repeated failures make Bitbucket demand a
 *       CAPTCHA, which would lock a scheduled backup's account. The refusal is remembered and rethrown.
 *   <li>Redirects: only an http→https redirect of the same host and path is followed (with a warning to fix
 *       {@code instance.base-url}), and learnt before any credentials are sent over plain http; a redirect to a
 *       login page, or anywhere else, is an error naming the cause.
 *   <li>A 503 is told apart by {@code /status}: in maintenance (someone holds the lock), starting, or a proxy's.
 * </ul>
 *
 * <p>Errors are {@link SnapstashException}s whose kind tells the operator what to fix; refusals are {@link Refused}
 * with their status. Secrets never appear in a message. Thread-safe.
 */
public class BitbucketClient {
  private static final Logger log = LoggerFactory.getLogger(BitbucketClient.class);
  static final String TOKEN_HEADER = "X-Atlassian-Maintenance-Token";
  /** Set by Bitbucket when it refuses a login until a CAPTCHA is solved (value like {@code CAPTCHA_CHALLENGE; …}). */
  public static final String DENIED_REASON_HEADER = "X-Authentication-Denied-Reason";
  private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  /** How the client proves who it is. The secret is read at the first request that needs it. */
  public sealed interface Credentials {
    /** The Authorization header's value. */
    String header();

    /** Which configuration keys hold these credentials, for messages. */
    String keys();

    /** Who is logging in, for messages. */
    String who();

    /** HTTP Basic with a user name and password: what the maintenance protocol needs (a SYSADMIN user). */
    record Basic(String username, Supplier<String> password) implements Credentials {
      @Override
      public String header() {
        return "Basic "
            + Base64.getEncoder().encodeToString((username + ":" + password.get()).getBytes(StandardCharsets.UTF_8));
      }

      @Override
      public String keys() {
        return "instance.username and instance.password";
      }

      @Override
      public String who() {
        return "the user " + username + " (instance.username)";
      }

      @Override
      public String toString() {
        return "Basic[" + username + "]";
      }
    }

    /**
     * A personal or HTTP access token, sent as HTTP Bearer. Bitbucket never gives a token more than project or
     * repository admin, so no call that needs SYSADMIN works with one (see the strategy page).
     */
    record Bearer(Supplier<String> token) implements Credentials {
      @Override
      public String header() {
        return "Bearer " + token.get();
      }

      @Override
      public String keys() {
        return "instance.token";
      }

      @Override
      public String who() {
        return "the access token in instance.token";
      }

      @Override
      public String toString() {
        return "Bearer[***]";
      }
    }
  }

  /**
   * Everything a client needs.
   *
   * @param baseUrl the instance's base URL, context path included (a trailing '/' is dropped)
   * @param credentials how to log in
   * @param transport TLS trust, proxies
   * @param requestTimeout connect and answer timeout of each request ({@code backup.request-timeout})
   * @param rateLimitWait how long one call may wait in all on 429 answers ({@code backup.rate-limit-wait})
   * @param sleeper how the client waits (tests pass one that records)
   * @param clock for {@code Retry-After} dates
   */
  public record Settings(
      URI baseUrl,
      Credentials credentials,
      HttpTransport transport,
      Duration requestTimeout,
      Duration rateLimitWait,
      Sleeper sleeper,
      Clock clock) {
    public static final Duration DEFAULT_RATE_LIMIT_WAIT = Duration.ofMinutes(2);

    /** The standard transport (the JVM's trust store, the environment's proxies) and real time. */
    public static Settings of(URI baseUrl, Credentials credentials, Duration requestTimeout) {
      return new Settings(
          baseUrl, credentials, HttpTransport.standard(), requestTimeout, DEFAULT_RATE_LIMIT_WAIT, Sleeper.REAL,
          Clock.systemUTC());
    }

    public Settings withTransport(HttpTransport t) {
      return new Settings(baseUrl, credentials, t, requestTimeout, rateLimitWait, sleeper, clock);
    }

    public Settings withRateLimitWait(Duration d, Sleeper s) {
      return new Settings(baseUrl, credentials, transport, requestTimeout, d, s, clock);
    }
  }

  /** One node of {@code GET /rest/api/1.0/admin/cluster} (OAS {@code RestClusterNode}). */
  public record Node(String id, String name, String address, Integer port, String buildVersion, boolean local) {
    /** {@code name (address:port, version, this node)}, for {@code check}. */
    public String describe() {
      String where = address == null ? "" : address + (port == null ? "" : ":" + port);
      List<String> parts = new ArrayList<>();
      if (!where.isEmpty()) {
        parts.add(where);
      }
      if (buildVersion != null) {
        parts.add(buildVersion);
      }
      if (local) {
        parts.add("the node that answered");
      }
      return (name == null ? id : name) + (parts.isEmpty() ? "" : " (" + String.join(", ", parts) + ")");
    }
  }

  /** {@code GET /rest/api/1.0/admin/cluster} (OAS {@code RestClusterInformation}). */
  public record Cluster(boolean running, List<Node> nodes) {}

  private final Settings settings;
  private final URI configuredBase;
  private volatile URI base;
  /** Whether an anonymous request has been answered, so a redirect to https would be known by now. */
  private volatile boolean schemeKnown;
  private volatile SnapstashException loginRefused;
  private volatile String authorization;
  /** Made at the first request: building one sets up the JVM's TLS context, which then happens beside other checks. */
  private HttpClient http;
  private final ObjectMapper json = new ObjectMapper();

  public BitbucketClient(URI baseUrl, String username, String password, Duration timeout) {
    this(baseUrl, username, () -> password, timeout);
  }

  public BitbucketClient(URI baseUrl, String username, Supplier<String> password, Duration timeout) {
    this(Settings.of(baseUrl, new Credentials.Basic(username, password), timeout));
  }

  public BitbucketClient(Settings settings) {
    this.settings = settings;
    String b = settings.baseUrl().toString();
    this.configuredBase = URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) : b);
    this.base = configuredBase;
    this.schemeKnown = !"http".equalsIgnoreCase(configuredBase.getScheme());
  }

  private synchronized HttpClient http() {
    if (http == null) {
      http = settings.transport().client(settings.requestTimeout());
    }
    return http;
  }

  /** Reads the secret now, so that one that cannot be read is reported as such; throws what reading throws. */
  public void credentials() {
    authorization();
  }

  private String authorization() {
    String a = authorization;
    if (a == null) {
      a = settings.credentials().header();
      authorization = a;
    }
    return a;
  }

  /** The base URL as configured (journal entries and messages name this one). */
  public URI baseUrl() {
    return configuredBase;
  }

  /** The base URL requests go to: the configured one, or its https form after an http→https redirect. */
  public URI effectiveBaseUrl() {
    return base;
  }

  public Credentials credentialsKind() {
    return settings.credentials();
  }

  public HttpTransport transport() {
    return settings.transport();
  }

  /**
   * {@code GET /rest/api/1.0/application-properties}: the version, anonymously (DIY, OAS). A 404 or an answer that
   * is not Bitbucket's is a configuration error naming {@code instance.base-url}: the path is wrong.
   */
  public String version() {
    JsonNode n;
    try {
      n = send(new Call("GET", "/rest/api/1.0/application-properties", null, false, "read the version", true, true));
    } catch (Refused e) {
      if (e.status() == 404) {
        throw new SnapstashException(
            ErrorKind.CONFIG,
            "instance.base-url " + configuredBase + " has no Bitbucket REST API (HTTP 404 for"
                + " /rest/api/1.0/application-properties): check the path, including the context path such as"
                + " /bitbucket");
      }
      throw e;
    } catch (NotJson e) {
      throw notBitbucket();
    }
    String version = n.path("version").asText("");
    if (version.isEmpty()) {
      throw notBitbucket();
    }
    return version;
  }

  private SnapstashException notBitbucket() {
    return new SnapstashException(
        ErrorKind.CONFIG,
        "instance.base-url " + configuredBase + " answered the version request with something other than"
            + " Bitbucket's REST API: check the address and its context path");
  }

  /**
   * {@code GET /rest/api/1.0/admin/cluster} (OAS: needs SYS_ADMIN): checks the credentials and the SYSADMIN
   * permission without locking, and names the nodes a Data Center backup covers.
   */
  public Cluster cluster() {
    JsonNode n = send(new Call("GET", "/rest/api/1.0/admin/cluster", null, true, "read the cluster's nodes", true, true));
    List<Node> nodes = new ArrayList<>();
    for (JsonNode x : n.path("nodes")) {
      JsonNode a = x.path("address");
      nodes.add(new Node(
          text(x, "id"), text(x, "name"), text(a, "address"), a.hasNonNull("port") ? a.get("port").asInt() : null,
          text(x, "buildVersion"), x.path("local").asBoolean(false)));
    }
    return new Cluster(n.path("running").asBoolean(true), List.copyOf(nodes));
  }

  private static String text(JsonNode n, String field) {
    return n.hasNonNull(field) ? n.get(field).asText() : null;
  }

  /**
   * {@code GET /status} without credentials: the application's state ({@code RUNNING}, {@code MAINTENANCE},
   * {@code STARTING}, …), whatever the HTTP status, or empty when nothing answers with one (a proxy's page, no
   * answer). Never throws but for an interrupt.
   */
  public Optional<String> serverState() {
    HttpRequest r = HttpRequest.newBuilder(URI.create(base + "/status"))
        .timeout(min(settings.requestTimeout(), STATUS_TIMEOUT))
        .header("Accept", "application/json")
        .GET()
        .build();
    try {
      HttpResponse<String> a = http().send(r, HttpResponse.BodyHandlers.ofString());
      String state = json.readTree(a.body() == null ? "" : a.body()).path("state").asText("");
      return state.isEmpty() ? Optional.empty() : Optional.of(state);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while reading Bitbucket's /status", e);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** {@code POST /mvc/maintenance/lock}: returns the unlock token. */
  public String lock() {
    JsonNode n = send(new Call("POST", "/mvc/maintenance/lock", null, true, "lock the instance", true, true));
    String token = n.path("unlockToken").asText("");
    if (token.isEmpty()) {
      throw new SnapstashException(ErrorKind.LOCK, "the instance accepted the lock but returned no unlock token");
    }
    return token;
  }

  /** {@code POST /mvc/admin/backups?external=true}: returns the cancel token. */
  public String startBackup(String unlockToken) {
    JsonNode n = send(new Call(
        "POST", "/mvc/admin/backups?external=true", unlockToken, true, "start the external backup", true, false));
    String token = n.path("cancelToken").asText("");
    if (token.isEmpty()) {
      throw new SnapstashException(ErrorKind.LOCK, "the instance started the backup but returned no cancel token");
    }
    return token;
  }

  /** {@code GET /mvc/maintenance} with the token: task state and drain states. */
  public MaintenanceStatus drainStatus(String unlockToken) {
    JsonNode n = send(new Call("GET", "/mvc/maintenance", unlockToken, true, "read the drain status", true, false));
    JsonNode task = n.path("task");
    return new MaintenanceStatus(
        task.isMissingNode() || task.isNull() ? null : task.path("state").asText(null),
        n.path("db-state").asText(null),
        n.path("scm-state").asText(null));
  }

  /**
   * {@code POST /mvc/admin/backups/progress/client?token=…&percentage=…}. Not retried on 429: the next report
   * supersedes it, and waiting would only hold the copy's reporter.
   */
  public void progress(String unlockToken, int percentage) {
    int p = Math.max(0, Math.min(100, percentage));
    send(new Call(
        "POST", "/mvc/admin/backups/progress/client?token=" + unlockToken + "&percentage=" + p, null, true,
        "report progress", false, false));
  }

  /** {@code DELETE /mvc/maintenance/lock?token=…}. */
  public void unlock(String unlockToken) {
    send(new Call("DELETE", "/mvc/maintenance/lock?token=" + unlockToken, null, true, "unlock the instance", true, false));
  }

  /** {@code POST /mvc/maintenance?token=<cancelToken>}: ends the backup task; does not unlock. */
  public void cancel(String cancelToken) {
    send(new Call("POST", "/mvc/maintenance?token=" + cancelToken, null, true, "cancel the backup task", true, false));
  }

  /**
   * One request.
   *
   * @param maintenanceToken sent as {@code X-Atlassian-Maintenance-Token}, or null
   * @param retryRateLimit whether a 429 is waited out and the request sent again
   * @param beforeLock whether this run holds no lock yet (a 503 then means someone else's)
   */
  private record Call(String method, String path, String maintenanceToken, boolean authenticate, String what,
      boolean retryRateLimit, boolean beforeLock) {}

  /** A 2xx answer whose body is not JSON. */
  private static final class NotJson extends RuntimeException {
    NotJson() {
      super(null, null, false, false);
    }
  }

  private JsonNode send(Call call) {
    if (call.authenticate()) {
      SnapstashException refused = loginRefused;
      if (refused != null) {
        throw new SnapstashException(refused.kind(), refused.getMessage() + " (no further login was attempted)");
      }
      learnScheme();
    }
    Duration waited = Duration.ZERO;
    boolean upgraded = false;
    for (int attempt = 0; ; attempt++) {
      HttpResponse<String> response = exchange(call);
      int code = response.statusCode();
      if (code >= 300 && code < 400 && response.headers().firstValue("Location").isPresent()) {
        upgraded = followOrRefuse(call, response, upgraded);
        continue;
      }
      if (!call.authenticate()) {
        schemeKnown = true;
      }
      if (code == 429 && call.retryRateLimit()) {
        Duration wait = retryAfter(response, attempt);
        if (waited.plus(wait).compareTo(settings.rateLimitWait()) > 0) {
          throw new Refused(429, null, new SnapstashException(
              ErrorKind.UNREACHABLE,
              "Bitbucket's rate limiting kept refusing the request to " + call.what() + " (HTTP 429) for "
                  + waited.toSeconds() + "s: exempt " + settings.credentials().who() + " from rate limiting"
                  + " (Administration > Rate limiting, or /rest/api/latest/admin/rate-limit/settings/users), or"
                  + " raise backup.rate-limit-wait"));
        }
        log.warn("Bitbucket rate-limited the request to {} (HTTP 429); sending it again in {} ms", call.what(),
            wait.toMillis());
        Sleeper.sleepOrThrow(settings.sleeper(), wait);
        waited = waited.plus(wait);
        continue;
      }
      if (code >= 200 && code < 300) {
        return body(response, call);
      }
      throw refusal(call, response);
    }
  }

  /**
   * Before credentials go to a plain-http base URL, one anonymous request learns whether it redirects to https:
   * credentials then never travel unencrypted to an instance that would have taken them over TLS.
   */
  private void learnScheme() {
    if (schemeKnown) {
      return;
    }
    try {
      send(new Call("GET", "/rest/api/1.0/application-properties", null, false, "read the version", true, true));
    } catch (SnapstashException e) {
      // Only the redirect mattered; what else went wrong, the authenticated request finds out for itself.
      if (e.kind() == ErrorKind.INTERRUPTED || e.kind() == ErrorKind.CONFIG) {
        throw e;
      }
    } catch (NotJson e) {
      // as above
    }
    schemeKnown = true;
  }

  private HttpResponse<String> exchange(Call call) {
    URI uri = URI.create(base + call.path());
    HttpRequest.Builder b = HttpRequest.newBuilder(uri)
        .timeout(settings.requestTimeout())
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .method(call.method(), HttpRequest.BodyPublishers.noBody());
    if (call.maintenanceToken() != null) {
      b.header(TOKEN_HEADER, call.maintenanceToken());
    }
    if (call.authenticate()) {
      b.header("Authorization", authorization());
    }
    try {
      return http().send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (HttpConnectTimeoutException | ConnectException e) {
      throw new SnapstashException(
          ErrorKind.UNREACHABLE,
          "cannot reach Bitbucket at " + base + " " + via(uri) + " to " + call.what()
              + "; check instance.base-url and that it is running",
          e);
    } catch (HttpTimeoutException e) {
      throw new SnapstashException(
          ErrorKind.UNREACHABLE,
          "Bitbucket at " + base + " did not answer within " + settings.requestTimeout().toSeconds()
              + "s when asked to " + call.what() + " (backup.request-timeout)",
          e);
    } catch (IOException e) {
      throw transportFailure(call, uri, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while trying to " + call.what(), e);
    }
  }

  private String via(URI uri) {
    return settings.transport().proxies().describe(uri);
  }

  /** TLS and proxy failures get a sentence naming the key that fixes them; anything else is a lost connection. */
  private SnapstashException transportFailure(Call call, URI uri, IOException e) {
    String chain = causes(e);
    if (chain.contains("PKIX path") || chain.contains("unable to find valid certification path")) {
      return new SnapstashException(
          ErrorKind.CONFIG,
          "the TLS certificate of " + base + " is not trusted (trusting " + settings.transport().describeTrust()
              + "): set instance.ca-file to the PEM file of the CA that signed it, or instance.truststore",
          e);
    }
    if (chain.contains("No subject alternative") || chain.contains("No name matching")) {
      return new SnapstashException(
          ErrorKind.CONFIG,
          "the TLS certificate of " + base + " does not name the host " + uri.getHost() + ": use the host name"
              + " the certificate was issued for in instance.base-url",
          e);
    }
    if (hasCause(e, SSLException.class)) {
      return new SnapstashException(
          ErrorKind.CONFIG,
          "the TLS handshake with " + base + " failed (" + rootMessage(e) + "): check that instance.base-url's"
              + " scheme (https or http) matches the port, and instance.ca-file",
          e);
    }
    if (chain.contains("Unable to tunnel through proxy") || chain.contains("tunnel")) {
      return new SnapstashException(
          ErrorKind.UNREACHABLE,
          "the proxy refused to connect to " + base + " (" + rootMessage(e) + ", " + via(uri) + "): allow the"
              + " backup host through it, or add the Bitbucket host to NO_PROXY",
          e);
    }
    return new SnapstashException(
        ErrorKind.UNREACHABLE,
        "lost the connection to Bitbucket at " + base + " " + via(uri) + " while trying to " + call.what(), e);
  }

  private static String causes(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c.getClass().getName()).append(": ").append(c.getMessage()).append('\n');
    }
    return sb.toString();
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null) {
      c = c.getCause();
    }
    return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
  }

  /**
   * Follows an http→https redirect of the same host and path once, from then on for every request; refuses any
   * other redirect with the reason. Returns that the upgrade has happened.
   */
  private boolean followOrRefuse(Call call, HttpResponse<String> response, boolean upgraded) {
    URI from = response.request().uri();
    String location = response.headers().firstValue("Location").orElseThrow();
    URI to;
    try {
      to = from.resolve(new URI(location.strip()));
    } catch (URISyntaxException | IllegalArgumentException e) {
      throw redirectElsewhere(call, response.statusCode(), location);
    }
    boolean upgrade = "http".equalsIgnoreCase(from.getScheme()) && "https".equalsIgnoreCase(to.getScheme())
        && from.getHost() != null && from.getHost().equalsIgnoreCase(to.getHost())
        && java.util.Objects.equals(from.getRawPath(), to.getRawPath());
    if (upgrade && !upgraded) {
      URI https = httpsBase(to);
      log.warn("instance.base-url {} redirects to {}: set instance.base-url to {} (requests follow the redirect)",
          configuredBase, https, https);
      base = https;
      return true;
    }
    if (looksLikeLogin(to)) {
      throw new SnapstashException(
          ErrorKind.CONFIG,
          "the request to " + call.what() + " was redirected to a login page (" + strip(to) + ", HTTP "
              + response.statusCode() + "): a single sign-on gateway or an authenticating proxy is in front of"
              + " Bitbucket and does not take " + settings.credentials().keys() + "; point instance.base-url at a"
              + " node or a connector that bypasses it");
    }
    throw redirectElsewhere(call, response.statusCode(), strip(to).toString());
  }

  private SnapstashException redirectElsewhere(Call call, int status, String location) {
    return new SnapstashException(
        ErrorKind.CONFIG,
        "the request to " + call.what() + " at " + base + " was redirected to " + location + " (HTTP " + status
            + "): set instance.base-url to the address Bitbucket answers at (only a redirect from http to https"
            + " on the same host is followed)");
  }

  private URI httpsBase(URI to) {
    try {
      return new URI("https", null, to.getHost(), to.getPort(), configuredBase.getRawPath(), null, null);
    } catch (URISyntaxException e) {
      throw SnapstashException.internal("cannot build the https form of " + configuredBase, e);
    }
  }

  private static boolean looksLikeLogin(URI to) {
    String s = (to.getPath() == null ? "" : to.getPath()).toLowerCase(Locale.ROOT);
    return s.contains("login") || s.contains("signin") || s.contains("sign-in") || s.contains("saml")
        || s.contains("sso") || s.contains("oauth") || s.contains("openid") || s.contains("/auth");
  }

  /** A URL without its query, which may carry a token or a return address. */
  private static URI strip(URI u) {
    try {
      return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null);
    } catch (URISyntaxException e) {
      return u;
    }
  }

  /** {@code Retry-After} as seconds or an HTTP date; without one, a doubling pause from one second. */
  private Duration retryAfter(HttpResponse<String> response, int attempt) {
    Optional<String> h = response.headers().firstValue("Retry-After").map(String::strip);
    if (h.isPresent()) {
      String v = h.get();
      try {
        if (v.matches("\\d+")) {
          return Duration.ofSeconds(Long.parseLong(v));
        }
        ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
        Duration d = Duration.between(settings.clock().instant(), at.toInstant());
        return d.isNegative() ? Duration.ZERO : d;
      } catch (NumberFormatException | DateTimeParseException e) {
        log.debug("unreadable Retry-After '{}'; backing off instead", v);
      }
    }
    Duration d = FIRST_BACKOFF.multipliedBy(1L << Math.min(attempt, 5));
    return min(d, MAX_BACKOFF);
  }

  private JsonNode body(HttpResponse<String> response, Call call) {
    String body = response.body();
    if (body == null || body.isBlank()) {
      return json.createObjectNode();
    }
    try {
      return json.readTree(body);
    } catch (IOException e) {
      if (!call.authenticate()) {
        throw new NotJson();
      }
      throw new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND,
          "Bitbucket answered the request to " + call.what() + " with something that is not JSON; is"
              + " instance.base-url really a Bitbucket instance?");
    }
  }

  /** An HTTP refusal, keeping the status for callers that treat some as benign (recover: 404 = not locked). */
  public static final class Refused extends SnapstashException {
    private final int status;
    private final String exceptionName;

    Refused(int status, String exceptionName, SnapstashException e) {
      super(e.kind(), e.getMessage());
      this.status = status;
      this.exceptionName = exceptionName;
    }

    public int status() {
      return status;
    }

    /** Bitbucket's {@code exceptionName} from the error body, or null. */
    public String exceptionName() {
      return exceptionName;
    }
  }

  private Refused refusal(Call call, HttpResponse<String> response) {
    int code = response.statusCode();
    JsonNode error = firstError(response.body());
    String reason = error.path("message").asText("");
    String exceptionName = error.hasNonNull("exceptionName") ? error.get("exceptionName").asText() : null;
    String suffix = reason.isEmpty() ? "" : ": " + reason;
    Optional<String> denied = response.headers().firstValue(DENIED_REASON_HEADER);
    SnapstashException e;
    if ((code == 401 || code == 403) && denied.isPresent()) {
      e = new SnapstashException(
          ErrorKind.AUTHENTICATION,
          "Bitbucket refuses to log in " + settings.credentials().who() + " until a CAPTCHA is solved, after"
              + " repeated failed logins (HTTP " + code + ", " + DENIED_REASON_HEADER + ": "
              + denied.get().split(";")[0].strip() + "): log in once as that user in a browser, or have an"
              + " administrator clear it; snapstash never retries a refused login, so scheduled runs cannot make"
              + " it worse");
      loginRefused = e;
    } else if ((code == 401 || code == 403) && permissionDenied(exceptionName, code)) {
      e = new SnapstashException(
          ErrorKind.AUTHENTICATION,
          settings.credentials() instanceof Credentials.Bearer
              ? "the access token in instance.token lacks the SYSADMIN permission needed to " + call.what()
                  + " (HTTP " + code + "): Bitbucket never gives a token SYSADMIN, so set instance.username and"
                  + " instance.password of a SYSADMIN user instead" + suffix
              : "the user in instance.username lacks the SYSADMIN permission needed to " + call.what() + " (HTTP "
                  + code + ")" + suffix);
    } else if (code == 401) {
      e = new SnapstashException(
          ErrorKind.AUTHENTICATION,
          "Bitbucket refused " + settings.credentials().who() + " when asked to " + call.what() + " (HTTP 401);"
              + " check " + settings.credentials().keys()
              + (settings.credentials() instanceof Credentials.Bearer
                  ? " (a token carries no SYSADMIN permission: the maintenance lock needs instance.username and"
                      + " instance.password)"
                  : "")
              + suffix);
      loginRefused = e;
    } else if (code == 409) {
      e = new SnapstashException(
          ErrorKind.LOCK, "Bitbucket refused to " + call.what() + " (HTTP 409, already locked or wrong token)" + suffix);
    } else if (code == 503) {
      e = unavailable(call, suffix);
    } else if (code == 404) {
      e = new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND,
          "Bitbucket has no resource to " + call.what() + " (HTTP 404" + (reason.isEmpty() ? "" : ": " + reason)
              + "); is instance.base-url right (no context path missing) and the version 4.0 or later?");
    } else if (code == 429) {
      e = new SnapstashException(
          ErrorKind.UNREACHABLE,
          "Bitbucket's rate limiting refused the request to " + call.what() + " (HTTP 429)" + suffix);
    } else {
      e = new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND, "Bitbucket failed to " + call.what() + " (HTTP " + code + ")" + suffix);
    }
    return new Refused(code, exceptionName, e);
  }

  /**
   * Whether a 401 or 403 refuses the permission rather than the login. Bitbucket's REST API answers a missing
   * permission with 401 (OAS), so the error's exception name tells them apart; a 403 without one is taken as a
   * permission refusal, as before.
   */
  private static boolean permissionDenied(String exceptionName, int code) {
    if (exceptionName == null) {
      return code == 403;
    }
    String n = exceptionName.toLowerCase(Locale.ROOT);
    return n.contains("authoris") || n.contains("authoriz") || n.contains("permission");
  }

  /**
   * HTTP 503, told apart by {@code /status}: MAINTENANCE before this run locks means someone else holds the lock
   * (exit 6, nothing locked by this run); a starting node, or a proxy answering for an instance that does not, is
   * as good as unreachable.
   */
  private SnapstashException unavailable(Call call, String suffix) {
    Optional<String> state = serverState();
    if (state.isPresent() && state.get().equals("MAINTENANCE") && call.beforeLock()) {
      return new SnapstashException(
          ErrorKind.LOCK,
          "Bitbucket at " + base + " is already in maintenance mode (another backup, a migration or an upgrade"
              + " holds it), so it refused to " + call.what() + " (HTTP 503); nothing was locked by this run");
    }
    if (state.isPresent() && !state.get().equals("RUNNING") && !state.get().equals("MAINTENANCE")) {
      return new SnapstashException(
          ErrorKind.UNREACHABLE,
          "Bitbucket at " + base + " is " + state.get() + " (its /status), not serving yet, so it refused to "
              + call.what() + " (HTTP 503); run again once /status says RUNNING");
    }
    if (state.isEmpty()) {
      return new SnapstashException(
          ErrorKind.UNREACHABLE,
          "something in front of Bitbucket at " + base + " answered HTTP 503 when asked to " + call.what()
              + ", and /status gave no Bitbucket state: a proxy or load balancer whose Bitbucket is down or not"
              + " reachable from it; check it, or point instance.base-url at a node");
    }
    return new SnapstashException(
        ErrorKind.UNREACHABLE,
        "Bitbucket at " + base + " answered HTTP 503 when asked to " + call.what() + " while its /status says "
            + state.get() + ": a proxy or load balancer in front of it, or the node restarting; check instance.base-url"
            + " and the instance's log" + suffix);
  }

  /** Bitbucket's error shape: {"errors":[{"message":"…","exceptionName":"…"}]}; anything else yields nothing. */
  private JsonNode firstError(String body) {
    if (body == null || body.isBlank()) {
      return json.createObjectNode();
    }
    try {
      JsonNode errors = json.readTree(body).path("errors");
      if (errors.isArray() && errors.size() > 0) {
        return errors.get(0);
      }
    } catch (IOException e) {
      // not JSON (an HTML page): say nothing rather than dump it into a one-line error
    }
    return json.createObjectNode();
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
