package dev.snapstash.sandbox.git;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs native {@code git http-backend} for one request under the CGI contract, streaming the request body to its
 * standard input and its response back.
 *
 * <p>This is the one class in snapstash that uses {@link ProcessBuilder} directly: {@code ProcessRunner} runs
 * commands to completion with files or captured text, and a CGI bridge must stream both ways while the process
 * runs.
 */
public final class GitHttpBackend {
  private static final Logger log = LoggerFactory.getLogger(GitHttpBackend.class);
  private static final String DEFAULT_BACKEND = "/usr/lib/git-core/git-http-backend";

  /** Receives the CGI response head and returns where its body goes. */
  @FunctionalInterface
  public interface Sink {
    OutputStream start(int status, Map<String, List<String>> headers) throws IOException;
  }

  /** A response kept in memory, so that a push is acknowledged only after its ledger row is committed. */
  public static final class Buffered implements Sink {
    private int status;
    private Map<String, List<String>> headers = Map.of();
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();

    @Override
    public OutputStream start(int s, Map<String, List<String>> h) {
      this.status = s;
      this.headers = h;
      return body;
    }

    public int status() {
      return status;
    }

    public Map<String, List<String>> headers() {
      return headers;
    }

    public byte[] body() {
      return body.toByteArray();
    }
  }

  private final String backend;

  public GitHttpBackend() {
    this(System.getProperty("snapstash.sandbox.httpBackend", DEFAULT_BACKEND));
  }

  public GitHttpBackend(String backend) {
    this.backend = backend;
  }

  public String executable() {
    return backend;
  }

  /**
   * Runs the backend with exactly {@code cgiEnv} plus PATH (nothing else leaks in from this JVM's environment),
   * and returns its exit code once its output has been handed to {@code sink} completely.
   */
  public int run(Map<String, String> cgiEnv, InputStream requestBody, Sink sink)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(List.of(backend));
    Map<String, String> env = pb.environment();
    String path = env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
    env.clear();
    env.put("PATH", path);
    env.putAll(cgiEnv);
    Process p = pb.start();
    Thread stdin =
        new Thread(
            () -> {
              try (OutputStream in = p.getOutputStream()) {
                if (requestBody != null) {
                  requestBody.transferTo(in);
                }
              } catch (IOException e) {
                // The backend stopped reading (it refused the request) or the client went away; the exit code or
                // the response tells which.
                log.debug("request body not fully delivered to git http-backend: {}", e.getMessage());
              }
            },
            "cgi-stdin");
    stdin.setDaemon(true);
    stdin.start();
    Thread stderr =
        new Thread(
            () -> {
              try (var r = new java.io.BufferedReader(
                  new java.io.InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  log.info("git http-backend: {}", line);
                }
              } catch (IOException e) {
                // Process gone.
              }
            },
            "cgi-stderr");
    stderr.setDaemon(true);
    stderr.start();
    try (InputStream out = p.getInputStream()) {
      int status = 200;
      Map<String, List<String>> headers = new LinkedHashMap<>();
      String line = readHeaderLine(out);
      if (line == null) {
        // The backend died before answering anything: a gateway failure, not an empty success.
        status = 502;
      }
      for (; line != null && !line.isEmpty(); line = readHeaderLine(out)) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
          continue;
        }
        String name = line.substring(0, colon).trim();
        String value = line.substring(colon + 1).trim();
        if (name.equalsIgnoreCase("Status")) {
          int sp = value.indexOf(' ');
          status = Integer.parseInt(sp < 0 ? value : value.substring(0, sp));
        } else {
          headers.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
      }
      OutputStream body = sink.start(status, headers);
      out.transferTo(body);
      body.flush();
      stdin.join(TimeUnit.SECONDS.toMillis(5));
      return p.waitFor();
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
    }
  }

  /** Reads one CGI header line (LF or CRLF), or {@code null} at end of stream. Headers are ASCII. */
  private static String readHeaderLine(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        int len = sb.length();
        if (len > 0 && sb.charAt(len - 1) == '\r') {
          sb.setLength(len - 1);
        }
        return sb.toString();
      }
      sb.append((char) c);
    }
    return sb.length() == 0 ? null : sb.toString();
  }
}
