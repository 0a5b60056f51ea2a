package dev.snapstash.core.bitbucket;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real HTTP server on loopback answering each {@code "METHOD /path"} from a script: the answers a real Bitbucket
 * (or a proxy, a gateway, a rate limiter in front of it) may give and the sandbox cannot give on cue in core's
 * tests. Each route answers its queued answers in order and repeats the last one. Every request is recorded.
 */
public final class ScriptedBitbucket implements AutoCloseable {
  /** One answer; {@code status} 0 closes the connection without answering. */
  public record Answer(int status, Map<String, String> headers, String body) {
    public static Answer json(int status, String body) {
      return new Answer(status, Map.of("Content-Type", "application/json"), body);
    }

    public static Answer error(int status, String exceptionName, String message) {
      return json(status, "{\"errors\":[{\"context\":null,\"message\":\"" + message + "\",\"exceptionName\":\""
          + exceptionName + "\"}]}");
    }

    public static Answer hangUp() {
      return new Answer(0, Map.of(), "");
    }

    public Answer with(String header, String value) {
      Map<String, String> h = new java.util.LinkedHashMap<>(headers);
      h.put(header, value);
      return new Answer(status, h, body);
    }
  }

  /** One request as received. */
  public record Seen(String method, String pathAndQuery, String authorization, String maintenanceToken, String version) {
    public String route() {
      int q = pathAndQuery.indexOf('?');
      return method + " " + (q < 0 ? pathAndQuery : pathAndQuery.substring(0, q));
    }
  }

  public static final String CLUSTER = "{\"localNode\":{\"address\":{\"address\":\"node-a.example.com\",\"port\":5701},"
      + "\"buildVersion\":\"8.19.1\",\"id\":\"a1\",\"local\":true,\"name\":\"node-a\"},\"nodes\":["
      + "{\"address\":{\"address\":\"node-a.example.com\",\"port\":5701},\"buildVersion\":\"8.19.1\",\"id\":\"a1\","
      + "\"local\":true,\"name\":\"node-a\"},"
      + "{\"address\":{\"address\":\"node-b.example.com\",\"port\":5701},\"buildVersion\":\"8.19.1\",\"id\":\"b2\","
      + "\"local\":false,\"name\":\"node-b\"}],\"running\":true}";

  private final HttpServer server;
  private final Map<String, Deque<Answer>> script = new ConcurrentHashMap<>();
  private final List<Seen> seen = java.util.Collections.synchronizedList(new ArrayList<>());

  public ScriptedBitbucket() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
    on("GET /bitbucket/rest/api/1.0/application-properties",
        Answer.json(200, "{\"version\":\"8.19.1\",\"buildNumber\":\"8019001\",\"displayName\":\"Bitbucket\"}"));
    on("GET /bitbucket/rest/api/1.0/admin/cluster", Answer.json(200, CLUSTER));
    on("GET /bitbucket/status", Answer.json(200, "{\"state\":\"RUNNING\"}"));
  }

  /** The base URL, with a context path as many installations have. */
  public URI baseUrl() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/bitbucket");
  }

  /** Answers {@code route} ("METHOD /bitbucket/path", no query) with these, in order, the last one repeated. */
  public ScriptedBitbucket on(String route, Answer... answers) {
    script.put(route, new ArrayDeque<>(List.of(answers)));
    return this;
  }

  public List<Seen> seen() {
    synchronized (seen) {
      return List.copyOf(seen);
    }
  }

  public long count(String route) {
    return seen().stream().filter(s -> s.route().equals(route)).count();
  }

  private void handle(HttpExchange x) throws IOException {
    String pq = x.getRequestURI().getRawPath() + (x.getRequestURI().getRawQuery() == null ? "" : "?" + x.getRequestURI().getRawQuery());
    Seen s = new Seen(x.getRequestMethod(), pq, x.getRequestHeaders().getFirst("Authorization"),
        x.getRequestHeaders().getFirst("X-Atlassian-Maintenance-Token"), x.getProtocol());
    seen.add(s);
    Deque<Answer> q = script.get(s.route());
    Answer a;
    if (q == null) {
      a = Answer.error(404, "com.atlassian.bitbucket.NoSuchResourceException", "no route " + s.route());
    } else {
      synchronized (q) {
        a = q.size() > 1 ? q.poll() : q.peek();
      }
    }
    if (a.status() == 0) {
      x.close();
      return;
    }
    byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
    a.headers().forEach((k, v) -> x.getResponseHeaders().add(k, v));
    x.sendResponseHeaders(a.status(), body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream out = x.getResponseBody()) {
        out.write(body);
      }
    }
    x.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
