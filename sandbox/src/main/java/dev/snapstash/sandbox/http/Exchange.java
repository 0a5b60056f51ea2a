package dev.snapstash.sandbox.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * One request and its answer, with the few shapes every area answers in, so that a JSON body, an HTML page and
 * Bitbucket's error shape are written the same way everywhere. Each answer completes the exchange: write one.
 *
 * @param path the path inside the context (a sandbox under {@code /bitbucket} routes the same paths)
 */
record Exchange(Request request, Response response, Callback callback, String path, String method) {
  private static final ObjectMapper JSON = new ObjectMapper();

  static Exchange of(Request request, Response response, Callback callback) {
    return new Exchange(request, response, callback, Request.getPathInContext(request), request.getMethod());
  }

  String header(String name) {
    return request.getHeaders().get(name);
  }

  Fields query() {
    return Request.extractQueryParameters(request);
  }

  /** The request's body as JSON; an empty body is a missing node, whose fields are all absent. */
  JsonNode readJson() throws IOException {
    try (InputStream body = Content.Source.asInputStream(request)) {
      return JSON.readTree(body);
    }
  }

  void json(int status, Object body) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      callback.failed(e);
      return;
    }
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json;charset=UTF-8");
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  void html(int status, String page) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/html;charset=UTF-8");
    response.write(true, ByteBuffer.wrap(page.getBytes(StandardCharsets.UTF_8)), callback);
  }

  void empty(int status) {
    response.setStatus(status);
    response.write(true, null, callback);
  }

  /** Bitbucket's REST error shape. */
  void error(int status, String message, String exceptionName) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("context", null);
    e.put("message", message);
    e.put("exceptionName", exceptionName);
    json(status, map("errors", List.of(e)));
  }

  /** A JSON object in the order given, as Bitbucket writes its fields. */
  static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }
}
