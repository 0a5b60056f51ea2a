package dev.snapstash.sandbox.http;

import dev.snapstash.sandbox.SandboxKnobs;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.git.GitHttpBackend;
import dev.snapstash.sandbox.git.Refs;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Git smart HTTP under {@code /scm/<project>/<slug>.git/...}, served by {@code git http-backend} from the
 * repository's directory, which is named by its id as in a Bitbucket home. The router calls it holding a drain
 * ticket, so a lock waits for every fetch and push in flight.
 */
final class GitRoutes {
  private static final Logger log = LoggerFactory.getLogger(GitRoutes.class);
  private static final Pattern SCM = Pattern.compile("^/scm/([A-Za-z0-9_~-]+)/([A-Za-z0-9._-]+?)(?:\\.git)?(/.*)$");
  private static final Pattern SAFE_GIT_PATH = Pattern.compile("^/[A-Za-z0-9._/-]*$");

  private final SandboxDatabase db;
  private final Access access;
  private final SandboxKnobs knobs;
  private final GitHttpBackend backend;
  private final Refs refs;
  private final Path repositories;
  private final Path hooks;
  private final Map<Long, ReentrantLock> pushLocks = new ConcurrentHashMap<>();
  private final AtomicInteger pushesInFlight = new AtomicInteger();

  GitRoutes(SandboxDatabase db, Access access, SandboxKnobs knobs, GitHttpBackend backend, Refs refs,
      Path repositories, Path hooks) {
    this.db = db;
    this.access = access;
    this.knobs = knobs;
    this.backend = backend;
    this.refs = refs;
    this.repositories = repositories;
    this.hooks = hooks;
  }

  void serve(Exchange x) throws Exception {
    Optional<SandboxDatabase.User> user = access.user(x);
    if (user.isEmpty()) {
      return;
    }
    Matcher m = SCM.matcher(x.path());
    if (!m.matches() || !SAFE_GIT_PATH.matcher(m.group(3)).matches() || m.group(3).contains("..")) {
      x.error(404, "Not a repository path: " + x.path(),
          "com.atlassian.bitbucket.repository.NoSuchRepositoryException");
      return;
    }
    Optional<SandboxDatabase.Repository> repo = db.repository(m.group(1), m.group(2));
    if (repo.isEmpty()) {
      x.error(404, "Repository " + m.group(1) + "/" + m.group(2) + " does not exist.",
          "com.atlassian.bitbucket.repository.NoSuchRepositoryException");
      return;
    }
    Request request = x.request();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("GIT_PROJECT_ROOT", repositories.toString());
    env.put("GIT_HTTP_EXPORT_ALL", "1");
    env.put("PATH_INFO", "/" + repo.get().id() + m.group(3));
    env.put("REQUEST_METHOD", x.method());
    env.put("QUERY_STRING", Optional.ofNullable(request.getHttpURI().getQuery()).orElse(""));
    env.put("REMOTE_USER", user.get().name());
    env.put("REMOTE_ADDR", Request.getRemoteAddr(request));
    env.put("SERVER_PROTOCOL", "HTTP/1.1");
    putHeader(env, "CONTENT_TYPE", request, "Content-Type");
    putHeader(env, "CONTENT_LENGTH", request, "Content-Length");
    putHeader(env, "GIT_PROTOCOL", request, "Git-Protocol");
    putHeader(env, "HTTP_CONTENT_ENCODING", request, "Content-Encoding");
    boolean push = x.method().equals("POST") && m.group(3).equals("/git-receive-pack");
    Duration delay = knobs.preReceiveDelay();
    if (push && !delay.isZero()) {
      env.put("GIT_CONFIG_COUNT", "1");
      env.put("GIT_CONFIG_KEY_0", "core.hooksPath");
      env.put("GIT_CONFIG_VALUE_0", hooks.toString());
      env.put("SNAPSTASH_PRE_RECEIVE_DELAY", String.format(Locale.ROOT, "%.3f", delay.toMillis() / 1000.0));
    }
    try (InputStream body = Content.Source.asInputStream(request)) {
      if (push) {
        push(repo.get(), env, body, x);
      } else {
        Response response = x.response();
        AtomicReference<OutputStream> sink = new AtomicReference<>();
        backend.run(env, body, (status, headers) -> {
          response.setStatus(status);
          headers.forEach((k, vs) -> vs.forEach(v -> response.getHeaders().add(k, v)));
          sink.set(Content.Sink.asOutputStream(response));
          return sink.get();
        });
        // Closing the stream writes the last chunk: the response is complete only now.
        sink.get().close();
        x.callback().succeeded();
      }
    }
  }

  /**
   * A push is acknowledged only once its ref updates are on disk and recorded in one transaction. Pushes to one
   * repository are serialised so that the refs before and after the backend ran tell exactly which updates this
   * push made; if recording fails, those refs are moved back and the client is told the push failed.
   */
  private void push(SandboxDatabase.Repository repo, Map<String, String> env, InputStream body, Exchange x)
      throws Exception {
    Path dir = repositories.resolve(Long.toString(repo.id()));
    pushesInFlight.incrementAndGet();
    ReentrantLock lock = pushLocks.computeIfAbsent(repo.id(), k -> new ReentrantLock());
    lock.lock();
    try {
      Map<String, String> before = refs.read(dir);
      GitHttpBackend.Buffered buffered = new GitHttpBackend.Buffered();
      int exit = backend.run(env, body, buffered);
      List<Refs.Update> updates = Refs.diff(before, refs.read(dir));
      if (!updates.isEmpty()) {
        Instant now = Instant.now();
        List<SandboxDatabase.LedgerRow> rows = new ArrayList<>();
        for (Refs.Update u : updates) {
          rows.add(new SandboxDatabase.LedgerRow(repo.id(), u.ref(), u.oldSha(), u.newSha(), now));
        }
        try {
          db.insertLedger(rows);
        } catch (RuntimeException e) {
          log.error("push to {} could not be recorded; moving its refs back", repo.path(), e);
          refs.revert(dir, updates);
          x.error(500, "The push could not be recorded and was undone: " + e.getMessage(),
              "com.atlassian.bitbucket.DataStoreException");
          return;
        }
      }
      log.debug("push to {} ({} ref updates, backend exit {})", repo.path(), updates.size(), exit);
      Response response = x.response();
      response.setStatus(buffered.status());
      buffered.headers().forEach((k, vs) -> vs.forEach(v -> response.getHeaders().add(k, v)));
      try (OutputStream out = Content.Sink.asOutputStream(response)) {
        out.write(buffered.body());
      }
      x.callback().succeeded();
    } finally {
      lock.unlock();
      pushesInFlight.decrementAndGet();
    }
  }

  private static void putHeader(Map<String, String> env, String var, Request request, String header) {
    String v = request.getHeaders().get(header);
    if (v != null) {
      env.put(var, v);
    }
  }

  /** Receive-pack requests being served now (for tests that hold a push in flight). */
  int pushesInFlight() {
    return pushesInFlight.get();
  }
}
