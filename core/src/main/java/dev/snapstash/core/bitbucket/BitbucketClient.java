package dev.snapstash.core.bitbucket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/**
 * The Bitbucket backup protocol over REST, exactly as {@code docs/bitbucket-protocol.md} states it: version,
 * lock, start external backup, drain status, progress, unlock, cancel. One method per call; no retries and no
 * policy here (the quiescer decides). Thread-safe.
 *
 * <p>Errors are {@link SnapstashException}s whose kind tells the operator what to fix: UNREACHABLE (network),
 * AUTHENTICATION (401/403), LOCK (409 and refusals of the lock), EXTERNAL_COMMAND for other answers. The password
 * never appears in a message.
 */
public class BitbucketClient {
  static final String TOKEN_HEADER = "X-Atlassian-Maintenance-Token";

  private final URI baseUrl;
  private final String username;
  private final java.util.function.Supplier<String> password;
  private volatile String authorization;
  private final Duration timeout;
  /**
   * Made at the first request, not with the client: building one sets up the JVM's default TLS context (its trust
   * store and some 300 classes, 0.2 s of start-up idle), which then happens in the preflight's own thread, beside
   * the other checks, instead of before them.
   */
  private HttpClient http;
  private final ObjectMapper json = new ObjectMapper();

  public BitbucketClient(URI baseUrl, String username, String password, Duration timeout) {
    this(baseUrl, username, () -> password, timeout);
  }

  /**
   * With the password read at the first authenticated request: a secret that cannot be read (an unset
   * environment variable) is then one finding of {@code check} among the others, not the end of the wiring.
   */
  public BitbucketClient(URI baseUrl, String username, java.util.function.Supplier<String> password, Duration timeout) {
    String base = baseUrl.toString();
    this.baseUrl = URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) : base);
    this.username = username;
    this.password = password;
    this.timeout = timeout;
  }

  private synchronized HttpClient http() {
    if (http == null) {
      http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }
    return http;
  }

  /** Reads the password now, so that one that cannot be read is reported as such; throws what reading throws. */
  public void credentials() {
    authorization();
  }

  private String authorization() {
    String a = authorization;
    if (a == null) {
      a = "Basic " + Base64.getEncoder().encodeToString((username + ":" + password.get()).getBytes(StandardCharsets.UTF_8));
      authorization = a;
    }
    return a;
  }

  public URI baseUrl() {
    return baseUrl;
  }

  /** {@code GET /rest/api/1.0/application-properties}: the version, anonymously. */
  public String version() {
    JsonNode n = send(request("/rest/api/1.0/application-properties").GET(), false, "read the version");
    return n.path("version").asText("unknown");
  }

  /**
   * Checks the credentials and the SYSADMIN permission without locking: {@code GET /mvc/maintenance} needs no
   * token to answer "is there a lock" but does need an authenticated administrator.
   */
  public MaintenanceStatus maintenanceStatus() {
    return status(send(request("/mvc/maintenance").GET(), true, "read the maintenance status"));
  }

  /** {@code POST /mvc/maintenance/lock}: returns the unlock token. */
  public String lock() {
    JsonNode n = send(request("/mvc/maintenance/lock").POST(empty()), true, "lock the instance");
    String token = n.path("unlockToken").asText("");
    if (token.isEmpty()) {
      throw new SnapstashException(ErrorKind.LOCK, "the instance accepted the lock but returned no unlock token");
    }
    return token;
  }

  /** {@code POST /mvc/admin/backups?external=true}: returns the cancel token. */
  public String startBackup(String unlockToken) {
    JsonNode n =
        send(
            request("/mvc/admin/backups?external=true").header(TOKEN_HEADER, unlockToken).POST(empty()),
            true,
            "start the external backup");
    String token = n.path("cancelToken").asText("");
    if (token.isEmpty()) {
      throw new SnapstashException(ErrorKind.LOCK, "the instance started the backup but returned no cancel token");
    }
    return token;
  }

  /** {@code GET /mvc/maintenance} with the token: task state and drain states. */
  public MaintenanceStatus drainStatus(String unlockToken) {
    return status(
        send(request("/mvc/maintenance").header(TOKEN_HEADER, unlockToken).GET(), true, "read the drain status"));
  }

  /** {@code POST /mvc/admin/backups/progress/client?token=…&percentage=…}. */
  public void progress(String unlockToken, int percentage) {
    int p = Math.max(0, Math.min(100, percentage));
    send(
        request("/mvc/admin/backups/progress/client?token=" + unlockToken + "&percentage=" + p).POST(empty()),
        true,
        "report progress");
  }

  /** {@code DELETE /mvc/maintenance/lock?token=…}. */
  public void unlock(String unlockToken) {
    send(request("/mvc/maintenance/lock?token=" + unlockToken).DELETE(), true, "unlock the instance");
  }

  /** {@code POST /mvc/maintenance?token=<cancelToken>}: ends the backup task; does not unlock. */
  public void cancel(String cancelToken) {
    send(request("/mvc/maintenance?token=" + cancelToken).POST(empty()), true, "cancel the backup task");
  }

  private static MaintenanceStatus status(JsonNode n) {
    JsonNode task = n.path("task");
    return new MaintenanceStatus(
        task.isMissingNode() || task.isNull() ? null : task.path("state").asText(null),
        n.path("db-state").asText(null),
        n.path("scm-state").asText(null));
  }

  private static HttpRequest.BodyPublisher empty() {
    return HttpRequest.BodyPublishers.noBody();
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(baseUrl + path))
        .timeout(timeout)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json");
  }

  private JsonNode send(HttpRequest.Builder builder, boolean authenticate, String what) {
    if (authenticate) {
      builder.header("Authorization", authorization());
    }
    HttpResponse<String> response;
    try {
      response = http().send(builder.build(), HttpResponse.BodyHandlers.ofString());
    } catch (HttpConnectTimeoutException | ConnectException e) {
      throw new SnapstashException(
          ErrorKind.UNREACHABLE,
          "cannot reach Bitbucket at " + baseUrl + " to " + what + "; check instance.base-url and that it is running",
          e);
    } catch (HttpTimeoutException e) {
      throw new SnapstashException(
          ErrorKind.UNREACHABLE,
          "Bitbucket at " + baseUrl + " did not answer within " + timeout.toSeconds() + "s when asked to " + what
              + " (backup.request-timeout)",
          e);
    } catch (IOException e) {
      throw new SnapstashException(
          ErrorKind.UNREACHABLE, "lost the connection to Bitbucket at " + baseUrl + " while trying to " + what, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while trying to " + what, e);
    }
    int code = response.statusCode();
    if (code >= 200 && code < 300) {
      String body = response.body();
      if (body == null || body.isBlank()) {
        return json.createObjectNode();
      }
      try {
        return json.readTree(body);
      } catch (IOException e) {
        throw new SnapstashException(
            ErrorKind.EXTERNAL_COMMAND,
            "Bitbucket answered the request to " + what + " with something that is not JSON; is instance.base-url"
                + " really a Bitbucket instance?");
      }
    }
    String reason = errorMessage(response.body());
    String suffix = reason.isEmpty() ? "" : ": " + reason;
    throw new Refused(code, refusal(code, what, suffix));
  }

  /** An HTTP refusal, keeping the status for callers that treat some as benign (recover: 409 = not locked). */
  public static final class Refused extends SnapstashException {
    private final int status;

    Refused(int status, SnapstashException e) {
      super(e.kind(), e.getMessage());
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  private SnapstashException refusal(int code, String what, String suffix) {
    return switch (code) {
      case 401 -> new SnapstashException(
          ErrorKind.AUTHENTICATION,
          "Bitbucket refused the credentials of instance.username when asked to " + what
              + " (HTTP 401); check instance.username and instance.password" + suffix);
      case 403 -> new SnapstashException(
          ErrorKind.AUTHENTICATION,
          "the user in instance.username lacks the SYSADMIN permission needed to " + what + " (HTTP 403)" + suffix);
      case 409 -> new SnapstashException(
          ErrorKind.LOCK, "Bitbucket refused to " + what + " (HTTP 409, already locked or wrong token)" + suffix);
      case 503 -> unavailable(what, suffix);
      case 404 -> new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND,
          "Bitbucket has no endpoint to " + what + " (HTTP 404); is instance.base-url right (no context path"
              + " missing) and the version 4.0 or later?");
      default -> new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND, "Bitbucket failed to " + what + " (HTTP " + code + ")" + suffix);
    };
  }

  /**
   * HTTP 503. Before this client holds a lock it means someone else does (another backup, an upgrade): a LOCK
   * problem. Once we hold the lock our own calls are let through, so a 503 then means the instance itself is
   * going away or not serving: as good as unreachable.
   */
  private SnapstashException unavailable(String what, String suffix) {
    if (what.equals("read the version") || what.equals("lock the instance")) {
      return new SnapstashException(
          ErrorKind.LOCK,
          "Bitbucket at " + baseUrl + " is already in maintenance mode (another backup, a migration or an upgrade"
              + " holds it), so it refused to " + what + " (HTTP 503); nothing was locked by this run");
    }
    return new SnapstashException(
        ErrorKind.UNREACHABLE,
        "Bitbucket at " + baseUrl + " stopped serving (HTTP 503) when asked to " + what + "; is it restarting?"
            + " Check instance.base-url and the instance's log" + suffix);
  }

  /** Bitbucket's error shape: {"errors":[{"message":"…"}]}; anything else is not shown (it may be an HTML page). */
  private String errorMessage(String body) {
    if (body == null || body.isBlank()) {
      return "";
    }
    try {
      JsonNode errors = json.readTree(body).path("errors");
      if (errors.isArray() && errors.size() > 0) {
        return errors.get(0).path("message").asText("");
      }
    } catch (IOException e) {
      // not JSON: say nothing rather than dump a page into a one-line error
    }
    return "";
  }
}
