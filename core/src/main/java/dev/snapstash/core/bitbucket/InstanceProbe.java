package dev.snapstash.core.bitbucket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.snapstash.core.http.HttpTransport;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Whether an instance is up where a restore would write: what answers at its base URL, if anything. A restore must
 * never write into the home or the database of a running instance, so anything that answers on the port counts,
 * not only a Bitbucket that says so: a TLS handshake this client cannot complete (a private CA), a proxy's error
 * page, a request that times out after the connection was made. Only "nothing listens" (connection refused, an
 * unknown host) is silence.
 */
@FunctionalInterface
public interface InstanceProbe {
  /**
   * What answered.
   *
   * @param what for a message, e.g. "Bitbucket 8.19.1 answers at https://…"
   * @param certain the answer can only come from a running Bitbucket (its version, or its maintenance 503); an
   *     uncertain one may be something else on that port, which the operator may overrule with {@code --force}
   */
  record Answer(String what, boolean certain) {}

  /** What answers where the instance would, or empty when nothing does. Must not change anything. */
  Optional<Answer> answer();

  /** For a restore that writes nowhere an instance runs. */
  static InstanceProbe none() {
    return Optional::empty;
  }

  /** {@link #http(URI, HttpTransport, Duration)} with the JVM's trust store and the environment's proxies. */
  static InstanceProbe http(URI baseUrl, Duration timeout) {
    return http(baseUrl, HttpTransport.standard(), timeout);
  }

  /**
   * Asks the version resource, anonymously, as {@link BitbucketClient#version()} does, through {@code transport}
   * (the configured CA, trust store and proxies), so that what the backup reaches is what is asked.
   */
  static InstanceProbe http(URI baseUrl, HttpTransport transport, Duration timeout) {
    String base = baseUrl.toString().replaceAll("/+$", "");
    return () -> {
      URI uri = URI.create(base + "/rest/api/1.0/application-properties");
      HttpClient http = transport.client(timeout);
      HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json").GET().build();
      try {
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        return Optional.of(classify(base, r.statusCode(), r.body()));
      } catch (ConnectException e) {
        return Optional.empty();
      } catch (HttpConnectTimeoutException e) {
        // A firewall that drops packets looks the same as a host that is down; neither proves nothing runs.
        return Optional.of(new Answer("connecting to " + base + " timed out after " + timeout.toSeconds() + " s", false));
      } catch (HttpTimeoutException e) {
        return Optional.of(new Answer("something at " + base + " accepted the connection but did not answer within "
            + timeout.toSeconds() + " s", false));
      } catch (SSLException e) {
        return Optional.of(new Answer("something at " + base + " speaks TLS, but the handshake failed ("
            + e.getMessage() + ")", false));
      } catch (IOException e) {
        if (e.getCause() instanceof UnknownHostException || e instanceof UnknownHostException) {
          return Optional.empty();
        }
        if (e.getCause() instanceof ConnectException) {
          return Optional.empty();
        }
        return Optional.of(new Answer("something at " + base + " accepted the connection, then failed ("
            + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")", false));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new dev.snapstash.core.error.SnapstashException(
            dev.snapstash.core.error.ErrorKind.INTERRUPTED, "interrupted while asking whether " + base + " answers", e);
      }
    };
  }

  /**
   * 200 with a version: Bitbucket. Any other status, 503 included (Bitbucket in maintenance or starting, but also
   * a proxy whose back end is down): something answers.
   */
  static Answer classify(String base, int status, String body) {
    if (status == 200) {
      try {
        JsonNode n = new ObjectMapper().readTree(body == null ? "" : body);
        String version = n == null ? "" : n.path("version").asText("");
        if (!version.isEmpty()) {
          return new Answer("Bitbucket " + version + " answers at " + base, true);
        }
      } catch (IOException | RuntimeException e) {
        // not JSON: some other web page
      }
    }
    if (status == 503) {
      return new Answer("something answers at " + base + " (HTTP 503: Bitbucket in maintenance or starting, or a"
          + " proxy whose back end is down)", false);
    }
    return new Answer("something answers at " + base + " (HTTP " + status + ")", false);
  }
}
