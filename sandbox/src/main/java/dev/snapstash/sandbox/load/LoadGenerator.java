package dev.snapstash.sandbox.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Real {@code git} clients pushing to the sandbox, each from its own clone to its own branch ({@code load/c<N>}),
 * spread over the repositories; a later run continues the branches an earlier one left. Every push the server
 * acknowledged is appended to a client-side ledger as a JSON line, so a test can prove that a backup holds
 * everything acknowledged before its lock. On failure (503 while locked, for example) a client backs off and
 * pushes again, as real clients and CI systems do.
 *
 * <p>Bounded by a duration and a push count; loopback only. Credentials travel in the environment, never in argv.
 */
public final class LoadGenerator {
  private static final Logger log = LoggerFactory.getLogger(LoadGenerator.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);

  /**
   * @param baseUrl the sandbox, on a loopback address
   * @param clients number of concurrent git clients
   * @param duration how long to keep pushing
   * @param maxPushes stop after this many acknowledged pushes in all
   * @param ledger JSON-lines file the acknowledged pushes are appended to
   * @param workDir where the clones go (created; removed afterwards)
   * @param caFile the certificate to trust when the sandbox serves TLS, or null
   */
  public record Options(String baseUrl, String user, String password, int clients, Duration duration,
      int maxPushes, Path ledger, Path workDir, Path caFile) {
    public Options(String baseUrl, String user, String password, int clients, Duration duration, int maxPushes,
        Path ledger, Path workDir) {
      this(baseUrl, user, password, clients, duration, maxPushes, ledger, workDir, null);
    }
  }

  /** What happened. */
  public record Result(int pushes, int refused, int failed, Duration elapsed) {}

  private final ProcessRunner runner;
  private final Clock clock;

  public LoadGenerator(ProcessRunner runner, Clock clock) {
    this.runner = runner;
    this.clock = clock;
  }

  public Result run(Options o) {
    return run(o, () -> false);
  }

  /**
   * As {@link #run(Options)}, also ending (after the pushes in flight) as soon as {@code stop} says so: a test
   * keeps load up for exactly as long as the step it is testing takes.
   */
  public Result run(Options o, java.util.function.BooleanSupplier stop) {
    requireLoopback(o.baseUrl());
    if (o.clients() < 1) {
      throw new SnapstashException(ErrorKind.USAGE, "--clients must be at least 1");
    }
    List<String> repos = repositories(o);
    if (repos.isEmpty()) {
      throw SnapstashException.precondition("the sandbox at " + o.baseUrl() + " has no repositories to push to");
    }
    long deadline = System.nanoTime() + o.duration().toNanos();
    AtomicInteger pushes = new AtomicInteger();
    AtomicInteger refused = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    long t0 = System.nanoTime();
    try {
      Files.createDirectories(o.workDir());
      if (o.ledger().getParent() != null) {
        Files.createDirectories(o.ledger().getParent());
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + o.workDir() + ": " + e.getMessage(), e);
    }
    try (Writer ledger = Files.newBufferedWriter(o.ledger(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND)) {
      List<Thread> threads = new ArrayList<>();
      List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
      for (int i = 0; i < o.clients(); i++) {
        String repo = repos.get(i % repos.size());
        Client c = new Client(o, i, repo, deadline, stop, pushes, refused, failed, ledger);
        Thread t = new Thread(() -> {
          try {
            c.run();
          } catch (Throwable e) {
            errors.add(e);
          }
        }, "load-c" + i);
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        t.join();
      }
      if (!errors.isEmpty()) {
        Throwable e = errors.get(0);
        if (e instanceof SnapstashException se) {
          throw se;
        }
        throw SnapstashException.internal("a load client failed: " + e, e);
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write the ledger " + o.ledger() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "the load run was interrupted", e);
    } finally {
      deleteTree(o.workDir());
    }
    Result r = new Result(pushes.get(), refused.get(), failed.get(), Duration.ofNanos(System.nanoTime() - t0));
    log.info("load: {} pushes acknowledged, {} refused (503), {} failed otherwise, in {} ms", r.pushes(),
        r.refused(), r.failed(), r.elapsed().toMillis());
    return r;
  }

  private final class Client {
    private final Options o;
    private final int n;
    private final String repo;
    private final long deadline;
    private final java.util.function.BooleanSupplier stop;
    private final AtomicInteger pushes;
    private final AtomicInteger refused;
    private final AtomicInteger failed;
    private final Writer ledger;
    private final Path clone;
    private final String ref;

    Client(Options o, int n, String repo, long deadline, java.util.function.BooleanSupplier stop, AtomicInteger pushes,
        AtomicInteger refused, AtomicInteger failed, Writer ledger) {
      this.o = o;
      this.n = n;
      this.repo = repo;
      this.deadline = deadline;
      this.stop = stop;
      this.pushes = pushes;
      this.refused = refused;
      this.failed = failed;
      this.ledger = ledger;
      this.clone = o.workDir().resolve("c" + n);
      this.ref = "refs/heads/load/c" + n;
    }

    void run() throws IOException, InterruptedException {
      String url = o.baseUrl() + "/scm/" + repo.toLowerCase(java.util.Locale.ROOT) + ".git";
      Duration backoff = Duration.ofMillis(100);
      while (true) {
        if (past()) {
          return;
        }
        ProcessResult r = git(o.workDir(), "clone", "-q", "--depth", "1", "--no-tags", url, clone.toString());
        if (r.exitCode() == 0) {
          // A branch left by an earlier load run on this sandbox: build on it, or every push would be refused as
          // not a fast-forward.
          r = git(clone, "fetch", "-q", "--depth", "1", "origin", ref);
          if (r.exitCode() == 0) {
            check(git(clone, "reset", "-q", "--hard", "FETCH_HEAD"));
            break;
          }
          if (r.stderrTail().contains("couldn't find remote ref")) {
            break;
          }
        }
        count(r);
        deleteTree(clone);
        backoff = sleep(backoff);
      }
      int seq = 0;
      boolean pending = false;
      backoff = Duration.ofMillis(100);
      while (!past() && pushes.get() < o.maxPushes()) {
        if (!pending) {
          seq++;
          Files.writeString(clone.resolve("load-c" + n + ".txt"), "client " + n + " change " + seq + " at "
              + clock.instant() + "\n", StandardCharsets.UTF_8);
          check(git(clone, "add", "-A"));
          check(git(clone, "commit", "-q", "-m", "load c" + n + " #" + seq));
          pending = true;
        }
        String sha = check(git(clone, "rev-parse", "HEAD")).stdout().strip();
        ProcessResult push = git(clone, "push", "-q", "origin", "HEAD:" + ref);
        if (push.exitCode() == 0) {
          pending = false;
          backoff = Duration.ofMillis(100);
          record(sha);
        } else {
          count(push);
          backoff = sleep(backoff);
        }
      }
    }

    private boolean past() {
      return System.nanoTime() >= deadline || stop.getAsBoolean();
    }

    private void count(ProcessResult r) {
      if (r.stderrTail().contains("503")) {
        refused.incrementAndGet();
      } else {
        failed.incrementAndGet();
        log.debug("load c{}: git failed: {}", n, r.stderrTail());
      }
    }

    private void record(String sha) throws IOException {
      Map<String, String> line = new LinkedHashMap<>();
      line.put("repo", repo);
      line.put("ref", ref);
      line.put("sha", sha);
      line.put("time", clock.instant().toString());
      String json = JSON.writeValueAsString(line);
      synchronized (ledger) {
        ledger.write(json);
        ledger.write('\n');
        // A killed run still leaves every acknowledged push on disk.
        ledger.flush();
      }
      pushes.incrementAndGet();
    }

    private Duration sleep(Duration backoff) throws InterruptedException {
      long left = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
      Thread.sleep(Math.min(backoff.toMillis(), left));
      Duration next = backoff.multipliedBy(2);
      return next.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : next;
    }

    private ProcessResult git(Path dir, String... args) {
      return runner.runAllowingFailure(command(dir, o.user(), o.password(), o.caFile(), args), l -> {});
    }

    private ProcessResult check(ProcessResult r) {
      if (r.exitCode() != 0) {
        throw new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "git failed in load client " + n + ": "
            + r.stderrTail());
      }
      return r;
    }
  }

  /** A git command as a sandbox user; the Authorization header goes through GIT_CONFIG_* variables. */
  public static Command command(Path dir, String user, String password, String... args) {
    return command(dir, user, password, null, args);
  }

  /** As {@link #command(Path, String, String, String...)}, trusting {@code caFile} (a TLS sandbox) when not null. */
  public static Command command(Path dir, String user, String password, Path caFile, String... args) {
    List<String> argv = new ArrayList<>();
    argv.add("git");
    argv.addAll(List.of(args));
    String auth = "Authorization: Basic "
        + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    Command c = Command.of(argv)
        .inDirectory(dir)
        .capturingStdout()
        .withTimeout(Duration.ofMinutes(5))
        .withEnv("GIT_TERMINAL_PROMPT", "0")
        .withEnv("GIT_CONFIG_NOSYSTEM", "1")
        .withEnv("GIT_CONFIG_GLOBAL", "/dev/null")
        .withEnv("GIT_CONFIG_KEY_0", "http.extraHeader")
        .withSecretEnv("GIT_CONFIG_VALUE_0", auth)
        .withSecret(password)
        .withEnv("GIT_CONFIG_KEY_1", "user.name")
        .withEnv("GIT_CONFIG_VALUE_1", "Load Client")
        .withEnv("GIT_CONFIG_KEY_2", "user.email")
        .withEnv("GIT_CONFIG_VALUE_2", "load@corp.example.com")
        .withEnv("GIT_CONFIG_KEY_3", "commit.gpgSign")
        .withEnv("GIT_CONFIG_VALUE_3", "false")
        .withEnv("GIT_CONFIG_COUNT", "4");
    // GIT_SSL_CAINFO, not http.sslCAInfo: a host's own GIT_SSL_CAINFO would win over the configuration.
    return caFile == null ? c : c.withEnv("GIT_SSL_CAINFO", caFile.toAbsolutePath().toString());
  }

  private List<String> repositories(Options o) {
    HttpClient http = (o.caFile() == null ? dev.snapstash.core.http.HttpTransport.direct()
        : dev.snapstash.core.http.HttpTransport.trusting(o.caFile(), name -> null)).client(Duration.ofSeconds(5));
    String auth = "Basic " + Base64.getEncoder().encodeToString(
        (o.user() + ":" + o.password()).getBytes(StandardCharsets.UTF_8));
    List<String> out = new ArrayList<>();
    for (JsonNode p : page(http, auth, o.baseUrl() + "/rest/api/1.0/projects")) {
      String key = p.get("key").asText();
      for (JsonNode r : page(http, auth, o.baseUrl() + "/rest/api/1.0/projects/" + key + "/repos")) {
        out.add(key + "/" + r.get("slug").asText());
      }
    }
    return out;
  }

  private static List<JsonNode> page(HttpClient http, String auth, String url) {
    List<JsonNode> values = new ArrayList<>();
    int start = 0;
    while (true) {
      HttpRequest req = HttpRequest.newBuilder(URI.create(url + "?limit=100&start=" + start))
          .header("Authorization", auth).header("Accept", "application/json").timeout(Duration.ofSeconds(30))
          .build();
      JsonNode page;
      try {
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 401) {
          throw new SnapstashException(ErrorKind.AUTHENTICATION, "the sandbox refused the admin credentials");
        }
        if (r.statusCode() != 200) {
          throw new SnapstashException(ErrorKind.UNREACHABLE, "GET " + url + " answered " + r.statusCode());
        }
        page = JSON.readTree(r.body());
      } catch (IOException e) {
        throw new SnapstashException(ErrorKind.UNREACHABLE, "cannot reach the sandbox at " + url, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted", e);
      }
      page.get("values").forEach(values::add);
      if (page.get("isLastPage").asBoolean()) {
        return values;
      }
      start = page.get("nextPageStart").asInt();
    }
  }

  static void requireLoopback(String baseUrl) {
    try {
      String host = URI.create(baseUrl).getHost();
      if (host != null && InetAddress.getByName(host).isLoopbackAddress()) {
        return;
      }
    } catch (IOException | IllegalArgumentException e) {
      // fall through to the refusal
    }
    throw new SnapstashException(
        ErrorKind.USAGE, "the load generator only drives a sandbox on this machine, not " + baseUrl);
  }

  private static void deleteTree(Path p) {
    if (!Files.exists(p)) {
      return;
    }
    try (var walk = Files.walk(p)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
    } catch (IOException e) {
      log.debug("cannot remove {}", p, e);
    }
  }

  /** Reads a ledger back (for checks). */
  public static List<Map<String, String>> readLedger(Path ledger) {
    List<Map<String, String>> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(ledger, StandardCharsets.UTF_8)) {
        if (!line.isBlank()) {
          JsonNode n = JSON.readTree(line);
          Map<String, String> m = new LinkedHashMap<>();
          n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
          out.add(m);
        }
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot read the ledger " + ledger + ": " + e.getMessage(), e);
    }
    return out;
  }

  static Instant now(Clock c) {
    return c.instant();
  }
}
