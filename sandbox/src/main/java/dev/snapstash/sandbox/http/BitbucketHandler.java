package dev.snapstash.sandbox.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.SandboxKnobs;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.git.GitHttpBackend;
import dev.snapstash.sandbox.git.Refs;
import dev.snapstash.sandbox.maintenance.Maintenance;
import dev.snapstash.sandbox.maintenance.MaintenanceException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the sandbox answers over HTTP: the REST subset, the maintenance protocol, Git smart HTTP, and the
 * test knobs. Jetty core handler; requests are handled on a pool thread with blocking I/O, which keeps the drain
 * accounting in one {@code try/finally}.
 */
public final class BitbucketHandler extends Handler.Abstract {
  private static final Logger log = LoggerFactory.getLogger(BitbucketHandler.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern REST = Pattern.compile("^/rest/api/(?:1\\.0|latest)(/.*)$");
  private static final Pattern SCM = Pattern.compile("^/scm/([A-Za-z0-9_~-]+)/([A-Za-z0-9._-]+?)(?:\\.git)?(/.*)$");
  private static final Pattern SAFE_GIT_PATH = Pattern.compile("^/[A-Za-z0-9._/-]*$");

  public static final String VERSION = "8.19.1";
  public static final String BUILD_NUMBER = "8019001";
  public static final String BUILD_DATE = "1718150400000";
  public static final String NODE_ID = "5a4d6c1e-8b1f-4c3a-9e2d-0b5a5d1e5a11";

  private final SandboxDatabase db;
  private final Maintenance maintenance;
  private final SandboxKnobs knobs;
  private final Auth auth;
  private final GitHttpBackend backend;
  private final Refs refs;
  private final Path repositories;
  private final Path hooks;
  private final String baseUrl;
  private final RateLimiter rateLimiter = new RateLimiter();
  private final Map<Long, ReentrantLock> pushLocks = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicInteger pushesInFlight = new java.util.concurrent.atomic.AtomicInteger();

  public BitbucketHandler(
      SandboxDatabase db,
      Maintenance maintenance,
      SandboxKnobs knobs,
      GitHttpBackend backend,
      ProcessRunner runner,
      Path repositories,
      Path hooks,
      String baseUrl,
      Map<String, String> tokens) {
    this.db = db;
    this.maintenance = maintenance;
    this.knobs = knobs;
    this.auth = new Auth(db.users(), tokens);
    this.backend = backend;
    this.refs = new Refs(runner);
    this.repositories = repositories;
    this.hooks = hooks;
    this.baseUrl = baseUrl;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    try {
      if (path.startsWith("/rest/sandbox/1.0/knobs")) {
        knobsCall(request, response, callback, method);
        return true;
      }
      if (answeredAsUnavailable(path, response, callback) || answeredWithLoginRedirect(request, path, response,
          callback) || rateLimited(request, response, callback)) {
        return true;
      }
      if (path.equals("/status")) {
        statusCall(response, callback);
      } else if (path.startsWith("/mvc/")) {
        maintenanceCall(request, response, callback, path, method);
      } else {
        Maintenance.Kind kind = path.startsWith("/scm/") ? Maintenance.Kind.GIT : Maintenance.Kind.OTHER;
        Optional<Maintenance.Ticket> ticket = maintenance.tryBegin(kind);
        if (ticket.isEmpty()) {
          error(response, callback, 503,
              "Bitbucket is currently unavailable because it is in maintenance mode (a backup is running)."
                  + " Please try again later.",
              "com.atlassian.bitbucket.maintenance.MaintenanceModeException");
          return true;
        }
        try (Maintenance.Ticket t = ticket.get()) {
          if (kind == Maintenance.Kind.GIT) {
            git(request, response, callback, path, method);
          } else {
            ordinary(request, response, callback, path, method);
          }
        }
      }
    } catch (MaintenanceException e) {
      error(response, callback, e.status(), e.getMessage(), e.exceptionName());
    } catch (Exception e) {
      log.warn("{} {} failed", method, path, e);
      if (!response.isCommitted()) {
        error(response, callback, 500, "An internal error occurred: " + e.getMessage(),
            e.getClass().getName());
      } else {
        callback.failed(e);
      }
    }
    return true;
  }

  /** The unauthenticated health resource load balancers poll: {@code {"state":"RUNNING"|"MAINTENANCE"}}. */
  private void statusCall(Response response, Callback callback) {
    boolean locked = maintenance.isLocked();
    json(response, callback, locked ? knobs.statusCodeInMaintenance() : 200,
        map("state", locked ? "MAINTENANCE" : "RUNNING"));
  }

  private boolean answeredAsUnavailable(String path, Response response, Callback callback) {
    SandboxKnobs.Unavailable u = knobs.unavailable();
    if (u == null) {
      return false;
    }
    if (u == SandboxKnobs.Unavailable.STARTING) {
      if (path.equals("/status")) {
        json(response, callback, 503, map("state", "STARTING"));
      } else {
        html(response, callback, 503, "<html><body><h1>Bitbucket is starting up</h1></body></html>\n");
      }
    } else {
      html(response, callback, 503,
          "<html><head><title>503 Service Unavailable</title></head><body><center><h1>503 Service Temporarily"
              + " Unavailable</h1></center><hr><center>nginx</center></body></html>\n");
    }
    return true;
  }

  private boolean answeredWithLoginRedirect(Request request, String path, Response response, Callback callback) {
    if (!knobs.loginRedirect() || path.equals("/status")) {
      return false;
    }
    response.setStatus(302);
    response.getHeaders().put(HttpHeader.LOCATION,
        baseUrl + "/plugins/servlet/samlsso?redirectTo=" + java.net.URLEncoder.encode(path, StandardCharsets.UTF_8));
    response.write(true, null, callback);
    return true;
  }

  /**
   * Requests with credentials take a token from their user's bucket (the bucket is keyed by the name or token the
   * header claims: a wrong password is rate limited like a right one). An empty bucket is answered 429 with the
   * wait until the next token, in seconds or as a date.
   */
  private boolean rateLimited(Request request, Response response, Callback callback) {
    SandboxKnobs.RateLimit limit = knobs.rateLimit();
    String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (limit == null || authorization == null) {
      return false;
    }
    long waitMillis = rateLimiter.take(claimedUser(authorization), limit);
    if (waitMillis == 0) {
      return false;
    }
    long seconds = Math.max(1, (waitMillis + 999) / 1000);
    response.getHeaders().put("Retry-After", limit.retryAfterAsDate()
        ? java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(
            java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC).plusSeconds(seconds + 1))
        : Long.toString(seconds));
    error(response, callback, 429, "Too many requests: the rate limit for this user is exceeded.",
        "com.atlassian.bitbucket.throttle.RateLimitExceededException");
    return true;
  }

  private static String claimedUser(String authorization) {
    if (authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      try {
        String d = new String(java.util.Base64.getDecoder().decode(authorization.substring(6).trim()),
            StandardCharsets.UTF_8);
        return "user:" + d.substring(0, Math.max(0, d.indexOf(':')));
      } catch (IllegalArgumentException e) {
        return "malformed";
      }
    }
    return "token:" + Integer.toHexString(authorization.hashCode());
  }

  /** Requests answered 429 so far. */
  public int rateLimitedRequests() {
    return rateLimiter.refused();
  }

  /** Logins of this user refused so far. */
  public int failedLogins(String user) {
    return auth.failedLogins(user);
  }

  /** Lifts a CAPTCHA demand, as an administrator would. */
  public void clearCaptcha(String user) {
    auth.clearFailures(user);
  }

  /** Receive-pack requests being served now (for tests that hold a push in flight). */
  public int pushesInFlight() {
    return pushesInFlight.get();
  }

  // ------------------------------------------------------------------------------------------------ maintenance

  private void maintenanceCall(Request request, Response response, Callback callback, String path, String method)
      throws Exception {
    Fields query = Request.extractQueryParameters(request);
    String headerToken = request.getHeaders().get("X-Atlassian-Maintenance-Token");
    if (method.equals("GET") && path.equals("/mvc/maintenance")) {
      // Read by Bitbucket's maintenance page, which every user sees while locked (UI): no permission needed; the
      // token, when sent, is what is checked.
      maintenanceStatus(response, callback, headerToken);
      return;
    }
    Optional<SandboxDatabase.User> user = requireSysadmin(request, response, callback);
    if (user.isEmpty()) {
      return;
    }
    switch (method + " " + path) {
      case "POST /mvc/maintenance/lock" -> {
        Maintenance.LockGrant g =
            maintenance.lock(new Maintenance.Owner(user.get().name(), user.get().displayName()));
        Map<String, Object> owner = new LinkedHashMap<>();
        owner.put("displayName", g.owner().displayName());
        owner.put("name", g.owner().name());
        json(response, callback, 202, map("unlockToken", g.unlockToken(), "owner", owner));
      }
      case "DELETE /mvc/maintenance/lock" -> {
        maintenance.unlock(query.getValue("token"));
        empty(response, callback, 202);
      }
      case "POST /mvc/admin/backups" -> {
        if (!"true".equals(query.getValue("external"))) {
          throw new MaintenanceException(
              400, "Only external backups (?external=true) are supported.", "java.lang.IllegalArgumentException");
        }
        Maintenance.Task t = maintenance.startBackup(headerToken);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("cancelToken", t.cancelToken());
        body.putAll(task(t));
        json(response, callback, 200, body);
      }
      case "POST /mvc/maintenance" -> {
        maintenance.cancel(query.getValue("token"));
        empty(response, callback, 202);
      }
      case "POST /mvc/admin/backups/progress/client" -> {
        maintenance.progress(query.getValue("token"), query.getValue("percentage"));
        empty(response, callback, 202);
      }
      default -> error(response, callback, 404, "No maintenance resource at " + method + " " + path + ".",
          "com.atlassian.bitbucket.NoSuchResourceException");
    }
  }

  private void maintenanceStatus(Response response, Callback callback, String headerToken) {
    Maintenance.Status s = maintenance.status(headerToken);
    Map<String, Object> body = new LinkedHashMap<>();
    if (s.task() != null) {
      body.put("task", task(s.task()));
    }
    body.put("db-state", s.dbState());
    body.put("scm-state", s.scmState());
    json(response, callback, 200, body);
  }

  private static Map<String, Object> task(Maintenance.Task t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", t.id());
    m.put("state", t.state());
    m.put("type", "BACKUP");
    m.put("progress", map("percentage", t.percentage(), "message", t.message()));
    return m;
  }

  private void knobsCall(Request request, Response response, Callback callback, String method) throws IOException {
    if (requireSysadmin(request, response, callback).isEmpty()) {
      return;
    }
    if (method.equals("PUT") || method.equals("POST")) {
      JsonNode in;
      try (InputStream body = Content.Source.asInputStream(request)) {
        in = JSON.readTree(body);
      }
      if (in.has("preReceiveDelayMs")) {
        knobs.preReceiveDelay(Duration.ofMillis(in.get("preReceiveDelayMs").asLong()));
      }
      if (in.has("minDrainMs")) {
        knobs.minDrain(Duration.ofMillis(in.get("minDrainMs").asLong()));
      }
      if (in.has("taskOutcome")) {
        knobs.taskOutcome(in.get("taskOutcome").isNull() ? null : in.get("taskOutcome").asText());
      }
      if (in.has("noSuchLockStatus")) {
        knobs.noSuchLockStatus(in.get("noSuchLockStatus").asInt());
      }
      if (in.has("wrongTokenStatus")) {
        knobs.wrongTokenStatus(in.get("wrongTokenStatus").asInt());
      }
      if (in.has("permissionDeniedStatus")) {
        knobs.permissionDeniedStatus(in.get("permissionDeniedStatus").asInt());
      }
      if (in.has("secondLockStatus")) {
        knobs.secondLockStatus(in.get("secondLockStatus").asInt());
      }
      if (in.has("statusCodeInMaintenance")) {
        knobs.statusCodeInMaintenance(in.get("statusCodeInMaintenance").asInt());
      }
      if (in.has("captchaAfterFailures")) {
        knobs.captchaAfterFailures(in.get("captchaAfterFailures").asInt());
      }
      if (in.has("unavailable")) {
        knobs.unavailable(in.get("unavailable").isNull() ? null
            : SandboxKnobs.Unavailable.valueOf(in.get("unavailable").asText()));
      }
      if (in.has("loginRedirect")) {
        knobs.loginRedirect(in.get("loginRedirect").asBoolean());
      }
      if (in.has("rateLimit")) {
        JsonNode r = in.get("rateLimit");
        rateLimiter.reset();
        knobs.rateLimit(r.isNull() ? null : new SandboxKnobs.RateLimit(
            r.path("capacity").asInt(60), r.path("perSecond").asDouble(5), r.path("retryAfterAsDate").asBoolean()));
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("preReceiveDelayMs", knobs.preReceiveDelay().toMillis());
    out.put("minDrainMs", knobs.minDrain().toMillis());
    out.put("taskOutcome", knobs.taskOutcome());
    out.put("noSuchLockStatus", knobs.noSuchLockStatus());
    out.put("wrongTokenStatus", knobs.wrongTokenStatus());
    out.put("permissionDeniedStatus", knobs.permissionDeniedStatus());
    out.put("secondLockStatus", knobs.secondLockStatus());
    out.put("statusCodeInMaintenance", knobs.statusCodeInMaintenance());
    out.put("captchaAfterFailures", knobs.captchaAfterFailures());
    out.put("unavailable", knobs.unavailable());
    out.put("loginRedirect", knobs.loginRedirect());
    out.put("rateLimit", knobs.rateLimit());
    out.put("rateLimitedRequests", rateLimiter.refused());
    out.put("locked", maintenance.isLocked());
    out.put("inFlight", maintenance.inFlight());
    maintenance.task().ifPresent(t -> {
      Map<String, Object> m = task(t);
      m.put("reported", t.reported());
      out.put("task", m);
    });
    json(response, callback, 200, out);
  }

  // ---------------------------------------------------------------------------------------------------- REST

  private void ordinary(Request request, Response response, Callback callback, String path, String method)
      throws IOException {
    Matcher rest = REST.matcher(path);
    if (!rest.matches()) {
      if (path.equals("/") && method.equals("GET")) {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/html;charset=UTF-8");
        Content.Sink.write(response, true,
            "<!DOCTYPE html><html><head><title>Bitbucket</title></head><body><h1>Bitbucket (snapstash"
                + " sandbox)</h1><p>Version " + VERSION + "</p></body></html>\n", callback);
        return;
      }
      error(response, callback, 404, "Not found: " + path, "com.atlassian.bitbucket.NoSuchResourceException");
      return;
    }
    String resource = rest.group(1);
    if (!method.equals("GET")) {
      error(response, callback, 405, "Method " + method + " is not supported here.",
          "com.atlassian.bitbucket.rest.MethodNotAllowedException");
      return;
    }
    if (resource.equals("/application-properties")) {
      json(response, callback, 200,
          map("version", VERSION, "buildNumber", BUILD_NUMBER, "buildDate", BUILD_DATE, "displayName", "Bitbucket"));
      return;
    }
    if (resource.equals("/admin/cluster")) {
      if (requireSysadmin(request, response, callback).isPresent()) {
        json(response, callback, 200, cluster());
      }
      return;
    }
    if (authenticate(request, response, callback).isEmpty()) {
      return;
    }
    Fields q = Request.extractQueryParameters(request);
    int start = intParam(q, "start", 0, 0, Integer.MAX_VALUE);
    int limit = intParam(q, "limit", 25, 1, 1000);
    String[] seg = resource.substring(1).split("/");
    if (seg.length == 1 && seg[0].equals("projects")) {
      json(response, callback, 200, paged(db.projects(start, limit), this::project));
    } else if (seg.length == 2 && seg[0].equals("projects")) {
      Optional<SandboxDatabase.Project> p = db.project(seg[1]);
      if (p.isPresent()) {
        json(response, callback, 200, project(p.get()));
      } else {
        noSuchProject(response, callback, seg[1]);
      }
    } else if (seg.length == 3 && seg[0].equals("projects") && seg[2].equals("repos")) {
      Optional<SandboxDatabase.Project> p = db.project(seg[1]);
      if (p.isEmpty()) {
        noSuchProject(response, callback, seg[1]);
        return;
      }
      json(response, callback, 200,
          paged(db.repositories(p.get().key(), start, limit), r -> repository(r, p.get())));
    } else if (seg.length == 4 && seg[0].equals("projects") && seg[2].equals("repos")) {
      Optional<SandboxDatabase.Repository> r = db.repository(seg[1], seg[3]);
      Optional<SandboxDatabase.Project> p = db.project(seg[1]);
      if (r.isPresent() && p.isPresent()) {
        json(response, callback, 200, repository(r.get(), p.get()));
      } else {
        error(response, callback, 404, "Repository " + seg[1] + "/" + seg[3] + " does not exist.",
            "com.atlassian.bitbucket.repository.NoSuchRepositoryException");
      }
    } else {
      error(response, callback, 404, "Not found: " + path, "com.atlassian.bitbucket.NoSuchResourceException");
    }
  }

  /** The OAS shape of {@code RestClusterInformation}: one node, this one. */
  private Map<String, Object> cluster() {
    String host = java.net.URI.create(baseUrl).getHost();
    Map<String, Object> node = new LinkedHashMap<>();
    node.put("address", map("address", host, "port", 5701));
    node.put("buildVersion", VERSION);
    node.put("id", NODE_ID);
    node.put("local", true);
    node.put("name", "sandbox-node-1");
    return map("localNode", node, "nodes", List.of(node), "running", true);
  }

  private void noSuchProject(Response response, Callback callback, String key) {
    error(response, callback, 404, "Project " + key + " does not exist.",
        "com.atlassian.bitbucket.project.NoSuchProjectException");
  }

  private static int intParam(Fields q, String name, int dflt, int min, int max) {
    String v = q.getValue(name);
    if (v == null) {
      return dflt;
    }
    try {
      return Math.max(min, Math.min(max, Integer.parseInt(v)));
    } catch (NumberFormatException e) {
      return dflt;
    }
  }

  private static <T> Map<String, Object> paged(SandboxDatabase.Page<T> page, Function<T, Object> render) {
    List<Object> values = new ArrayList<>();
    page.values().forEach(v -> values.add(render.apply(v)));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("size", values.size());
    m.put("limit", page.limit());
    m.put("isLastPage", page.isLastPage());
    m.put("values", values);
    m.put("start", page.start());
    if (!page.isLastPage()) {
      m.put("nextPageStart", page.start() + values.size());
    }
    return m;
  }

  private Map<String, Object> project(SandboxDatabase.Project p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("key", p.key());
    m.put("id", p.id());
    m.put("name", p.name());
    m.put("public", false);
    m.put("type", "NORMAL");
    m.put("links", map("self", List.of(map("href", baseUrl + "/projects/" + p.key()))));
    return m;
  }

  private Map<String, Object> repository(SandboxDatabase.Repository r, SandboxDatabase.Project p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("slug", r.slug());
    m.put("id", r.id());
    m.put("name", r.name());
    m.put("hierarchyId", Long.toHexString(0x5a5a0000L + r.id()));
    m.put("scmId", "git");
    m.put("state", "AVAILABLE");
    m.put("statusMessage", "Available");
    m.put("forkable", true);
    m.put("project", project(p));
    m.put("public", false);
    String clone = baseUrl + "/scm/" + p.key().toLowerCase(java.util.Locale.ROOT) + "/" + r.slug() + ".git";
    m.put("links", map(
        "clone", List.of(map("href", clone, "name", "http")),
        "self", List.of(map("href", baseUrl + "/projects/" + p.key() + "/repos/" + r.slug() + "/browse"))));
    return m;
  }

  // ----------------------------------------------------------------------------------------------------- Git

  private void git(Request request, Response response, Callback callback, String path, String method)
      throws Exception {
    Optional<SandboxDatabase.User> user = authenticate(request, response, callback);
    if (user.isEmpty()) {
      return;
    }
    Matcher m = SCM.matcher(path);
    if (!m.matches() || !SAFE_GIT_PATH.matcher(m.group(3)).matches() || m.group(3).contains("..")) {
      error(response, callback, 404, "Not a repository path: " + path,
          "com.atlassian.bitbucket.repository.NoSuchRepositoryException");
      return;
    }
    Optional<SandboxDatabase.Repository> repo = db.repository(m.group(1), m.group(2));
    if (repo.isEmpty()) {
      error(response, callback, 404, "Repository " + m.group(1) + "/" + m.group(2) + " does not exist.",
          "com.atlassian.bitbucket.repository.NoSuchRepositoryException");
      return;
    }
    long id = repo.get().id();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("GIT_PROJECT_ROOT", repositories.toString());
    env.put("GIT_HTTP_EXPORT_ALL", "1");
    env.put("PATH_INFO", "/" + id + m.group(3));
    env.put("REQUEST_METHOD", method);
    env.put("QUERY_STRING", Optional.ofNullable(request.getHttpURI().getQuery()).orElse(""));
    env.put("REMOTE_USER", user.get().name());
    env.put("REMOTE_ADDR", Request.getRemoteAddr(request));
    env.put("SERVER_PROTOCOL", "HTTP/1.1");
    putHeader(env, "CONTENT_TYPE", request, "Content-Type");
    putHeader(env, "CONTENT_LENGTH", request, "Content-Length");
    putHeader(env, "GIT_PROTOCOL", request, "Git-Protocol");
    putHeader(env, "HTTP_CONTENT_ENCODING", request, "Content-Encoding");
    boolean push = method.equals("POST") && m.group(3).equals("/git-receive-pack");
    Duration delay = knobs.preReceiveDelay();
    if (push && !delay.isZero()) {
      env.put("GIT_CONFIG_COUNT", "1");
      env.put("GIT_CONFIG_KEY_0", "core.hooksPath");
      env.put("GIT_CONFIG_VALUE_0", hooks.toString());
      env.put("SNAPSTASH_PRE_RECEIVE_DELAY", String.format(java.util.Locale.ROOT, "%.3f", delay.toMillis() / 1000.0));
    }
    try (InputStream body = Content.Source.asInputStream(request)) {
      if (push) {
        push(repo.get(), env, body, response, callback);
      } else {
        java.util.concurrent.atomic.AtomicReference<OutputStream> sink = new java.util.concurrent.atomic.AtomicReference<>();
        backend.run(env, body, (status, headers) -> {
          response.setStatus(status);
          headers.forEach((k, vs) -> vs.forEach(v -> response.getHeaders().add(k, v)));
          sink.set(Content.Sink.asOutputStream(response));
          return sink.get();
        });
        // Closing the stream writes the last chunk: the response is complete only now.
        sink.get().close();
        callback.succeeded();
      }
    }
  }

  /**
   * A push is acknowledged only once its ref updates are on disk and recorded in one transaction. Pushes to one
   * repository are serialised so that the refs before and after the backend ran tell exactly which updates this
   * push made; if recording fails, those refs are moved back and the client is told the push failed.
   */
  private void push(SandboxDatabase.Repository repo, Map<String, String> env, InputStream body, Response response,
      Callback callback) throws Exception {
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
          error(response, callback, 500, "The push could not be recorded and was undone: " + e.getMessage(),
              "com.atlassian.bitbucket.DataStoreException");
          return;
        }
      }
      log.debug("push to {} ({} ref updates, backend exit {})", repo.path(), updates.size(), exit);
      response.setStatus(buffered.status());
      buffered.headers().forEach((k, vs) -> vs.forEach(v -> response.getHeaders().add(k, v)));
      try (OutputStream out = Content.Sink.asOutputStream(response)) {
        out.write(buffered.body());
      }
      callback.succeeded();
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

  // ------------------------------------------------------------------------------------------------- helpers

  private Optional<SandboxDatabase.User> authenticate(Request request, Response response, Callback callback) {
    return principal(request, response, callback).map(Auth.Principal::user);
  }

  private Optional<Auth.Principal> principal(Request request, Response response, Callback callback) {
    Auth.Outcome o = auth.authenticate(request.getHeaders().get(HttpHeader.AUTHORIZATION), knobs.captchaAfterFailures());
    if (o.refusal() == Auth.Refusal.CAPTCHA) {
      response.getHeaders().put("X-Authentication-Denied-Reason", "CAPTCHA_CHALLENGE; login-url=" + baseUrl + "/login");
      error(response, callback, 401, "CAPTCHA required: log in through the web interface first.",
          "com.atlassian.bitbucket.auth.CaptchaRequiredAuthenticationException");
    } else if (o.refusal() != null) {
      response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Basic realm=\"Atlassian Bitbucket\"");
      error(response, callback, 401, "Authentication failed. Please check your credentials and try again.",
          "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException");
    }
    return o.ok();
  }

  /**
   * SYSADMIN resources: a user without the permission, or any access token (Bitbucket never grants a token
   * SYSADMIN), is refused with the permission-denied status (401 by default, as the OAS documents).
   */
  private Optional<SandboxDatabase.User> requireSysadmin(Request request, Response response, Callback callback) {
    Optional<Auth.Principal> p = principal(request, response, callback);
    if (p.isPresent() && (!p.get().user().sysadmin() || p.get().viaToken())) {
      error(response, callback, knobs.permissionDeniedStatus(),
          "You are not permitted to access this resource: it requires the SYS_ADMIN permission.",
          "com.atlassian.bitbucket.AuthorisationException");
      return Optional.empty();
    }
    return p.map(Auth.Principal::user);
  }

  static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private static void json(Response response, Callback callback, int status, Object body) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      callback.failed(e);
      return;
    }
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json;charset=UTF-8");
    response.write(true, java.nio.ByteBuffer.wrap(bytes), callback);
  }

  private static void html(Response response, Callback callback, int status, String page) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/html;charset=UTF-8");
    response.write(true, java.nio.ByteBuffer.wrap(utf8(page)), callback);
  }

  private static void empty(Response response, Callback callback, int status) {
    response.setStatus(status);
    response.write(true, null, callback);
  }

  /** Bitbucket's REST error shape. */
  static void error(Response response, Callback callback, int status, String message, String exceptionName) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("context", null);
    e.put("message", message);
    e.put("exceptionName", exceptionName);
    json(response, callback, status, map("errors", List.of(e)));
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
