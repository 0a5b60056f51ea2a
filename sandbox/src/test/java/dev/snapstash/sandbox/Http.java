package dev.snapstash.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/** A tiny JSON-over-HTTP client for tests, speaking as a backup tool would. */
final class Http {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
      .version(HttpClient.Version.HTTP_1_1).build();

  record Answer(int status, String body, java.net.http.HttpHeaders headers) {
    String header(String name) {
      return headers.firstValue(name).orElse(null);
    }

    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }

    /** The first message of Bitbucket's error shape, after checking the shape. */
    String errorMessage() {
      JsonNode e = json().get("errors");
      if (e == null || !e.isArray() || e.isEmpty() || !e.get(0).has("message") || !e.get(0).has("context")
          || !e.get(0).has("exceptionName")) {
        throw new AssertionError("not Bitbucket's error shape: " + body);
      }
      return e.get(0).get("message").asText();
    }
  }

  private final String base;
  private final String authorization;
  private final HttpClient client;

  Http(String base, String user, String password) {
    this(base, user, password, null);
  }

  /** Trusting {@code caFile} (a TLS sandbox's certificate) when not null; never following redirects. */
  Http(String base, String user, String password, java.nio.file.Path caFile) {
    this(base, user == null ? null
        : "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)),
        caFile);
  }

  private Http(String base, String authorization, java.nio.file.Path caFile) {
    this.base = base;
    this.authorization = authorization;
    this.client = caFile == null ? CLIENT
        : dev.snapstash.core.http.HttpTransport.trusting(caFile, name -> null).client(Duration.ofSeconds(5));
  }

  /** With an access token (HTTP Bearer). */
  static Http bearer(String base, String token, java.nio.file.Path caFile) {
    return new Http(base, "Bearer " + token, caFile);
  }

  Answer send(String method, String path, String token) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
        .timeout(Duration.ofSeconds(30))
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    if (token != null) {
      b.header("X-Atlassian-Maintenance-Token", token);
    }
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r.body(), r.headers());
    } catch (Exception e) {
      throw new AssertionError(method + " " + path + " failed", e);
    }
  }

  Answer send(String method, String path) {
    return send(method, path, null);
  }

  Answer put(String path, String jsonBody) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
        .header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(jsonBody));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r.body(), r.headers());
    } catch (Exception e) {
      throw new AssertionError("PUT " + path + " failed", e);
    }
  }
}
