package dev.snapstash.strategy.notify.webhook;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.snapstash.core.config.Secret;
import dev.snapstash.core.util.Json;
import dev.snapstash.core.spi.RunReport;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.util.Trees;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts run reports as JSON. Two shapes: {@link Shape#WEBHOOK}, Slack/Mattermost/Teams-compatible (a {@code text}
 * line plus structured {@code fields}), and {@link Shape#HIPCHAT}, the DIY scripts' HipChat v2 room notification
 * ({@code message}, {@code color} green/red, {@code notify}). The payload is built only from the report, which
 * holds no secret; the token goes in the Authorization header and is never logged.
 */
public final class WebhookNotifier implements Notifier {
  private static final Logger log = LoggerFactory.getLogger(WebhookNotifier.class);

  public enum Shape {
    WEBHOOK,
    HIPCHAT
  }

  private final Shape shape;
  private final URI url;
  private final Secret token;
  private final boolean onSuccess;
  private final boolean onFailure;
  private final boolean notifyRoom;
  private final HttpClient http;
  private final Duration timeout;

  /** With the default limit of 10 s on each notification. */
  public WebhookNotifier(Shape shape, URI url, Secret token, boolean onSuccess, boolean onFailure, boolean notifyRoom) {
    this(shape, url, token, onSuccess, onFailure, notifyRoom, Duration.ofSeconds(10));
  }

  public WebhookNotifier(
      Shape shape, URI url, Secret token, boolean onSuccess, boolean onFailure, boolean notifyRoom, Duration timeout) {
    if (url == null) {
      throw SnapstashException.config("notify[].url is required for a " + shape.name().toLowerCase() + " notification");
    }
    this.shape = shape;
    this.url = url;
    this.token = token;
    this.onSuccess = onSuccess;
    this.onFailure = onFailure;
    this.notifyRoom = notifyRoom;
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  @Override
  public String name() {
    return shape.name().toLowerCase() + " " + url.getHost();
  }

  @Override
  public void check(Findings findings) {
    if (token != null && token.problem() != null) {
      findings.problem("notify " + url.getHost(), token.problem(), dev.snapstash.core.error.ErrorKind.CONFIG);
    } else {
      findings.ok("notify", name());
    }
  }

  @Override
  public void send(RunReport report) {
    if (report.success() ? !onSuccess : !onFailure) {
      return;
    }
    String body = payload(report);
    HttpRequest.Builder req =
        HttpRequest.newBuilder(url)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      req.header("Authorization", "Bearer " + token.reveal());
    }
    // HttpRequest.timeout bounds only the wait for the response headers: an endpoint that then never finishes its
    // body would hold a finished run forever. The whole exchange gets the same limit.
    java.util.concurrent.CompletableFuture<HttpResponse<Void>> pending =
        http.sendAsync(req.build(), HttpResponse.BodyHandlers.discarding());
    try {
      HttpResponse<Void> r = pending.get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      if (r.statusCode() / 100 != 2) {
        log.warn("notification to {} answered HTTP {}", url.getHost(), r.statusCode());
      }
    } catch (java.util.concurrent.TimeoutException e) {
      pending.cancel(true);
      log.warn("notification to {} did not finish within {}; given up", url.getHost(), limit());
    } catch (java.util.concurrent.ExecutionException e) {
      log.warn("notification to {} failed: {}", url.getHost(), reason(e.getCause()));
    } catch (InterruptedException e) {
      pending.cancel(true);
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The first message down the cause chain. The HTTP client's own exceptions often carry none: a refused
   * connection is a bare ConnectException, which would log as "null".
   */
  private static String reason(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c.getMessage() != null && !c.getMessage().isBlank()) {
        return c.getMessage();
      }
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.net.ConnectException) {
        return "could not connect (connection refused, or no route to the host)";
      }
    }
    return t.getClass().getSimpleName();
  }

  /** The limit as configured ("10s", "1500ms"), for the log. */
  private String limit() {
    return timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + "s" : timeout.toMillis() + "ms";
  }

  /** The JSON body; public so tests can assert it holds no secret. */
  public String payload(RunReport r) {
    String text = text(r);
    ObjectNode root = Json.MAPPER.createObjectNode();
    if (shape == Shape.HIPCHAT) {
      root.put("message", text);
      root.put("color", r.success() ? "green" : "red");
      root.put("notify", notifyRoom);
      root.put("message_format", "text");
      return root.toString();
    }
    root.put("text", text);
    ArrayNode fields = root.putArray("fields");
    for (Map.Entry<String, String> f : fields(r).entrySet()) {
      ObjectNode o = fields.addObject();
      o.put("title", f.getKey());
      o.put("value", f.getValue());
      o.put("short", true);
    }
    ObjectNode structured = root.putObject("snapstash");
    structured.put("operation", r.operation());
    structured.put("instance", r.instance());
    structured.put("tag", r.tag());
    structured.put("state", r.success() ? "complete" : "failed");
    structured.put("durationMillis", r.duration() == null ? null : r.duration().toMillis());
    structured.put("lockWindowMillis", r.lockWindow() == null ? null : r.lockWindow().toMillis());
    structured.put("bytes", r.bytes());
    structured.put("error", r.error());
    return root.toString();
  }

  static String text(RunReport r) {
    StringBuilder sb = new StringBuilder();
    sb.append("snapstash ").append(r.operation()).append(" of ").append(r.instance());
    if (r.success()) {
      sb.append(" succeeded: ").append(r.tag());
      if (r.lockWindow() != null) {
        sb.append(", locked ").append(seconds(r.lockWindow()));
      }
      sb.append(", ").append(Trees.humanBytes(r.bytes())).append(" in ").append(seconds(r.duration()));
    } else {
      sb.append(" FAILED");
      if (r.tag() != null) {
        sb.append(" (").append(r.tag()).append(')');
      }
      sb.append(": ").append(r.error());
    }
    return sb.toString();
  }

  private static Map<String, String> fields(RunReport r) {
    Map<String, String> f = new LinkedHashMap<>();
    f.put("Instance", r.instance());
    f.put("State", r.success() ? "complete" : "failed");
    if (r.tag() != null) {
      f.put("Tag", r.tag());
    }
    if (r.lockWindow() != null) {
      f.put("Lock window", seconds(r.lockWindow()));
    }
    if (r.duration() != null) {
      f.put("Duration", seconds(r.duration()));
    }
    f.put("Size", Trees.humanBytes(r.bytes()));
    if (r.error() != null) {
      f.put("Error", r.error());
    }
    return f;
  }

  private static String seconds(Duration d) {
    return String.format(java.util.Locale.ROOT, "%.2fs", d.toMillis() / 1000.0);
  }
}
