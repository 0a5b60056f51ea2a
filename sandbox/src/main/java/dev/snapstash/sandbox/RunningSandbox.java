package dev.snapstash.sandbox;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.localdb.LocalDatabaseServer;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.gen.HomeGenerator;
import dev.snapstash.sandbox.git.GitHttpBackend;
import dev.snapstash.sandbox.http.BitbucketHandler;
import dev.snapstash.sandbox.maintenance.Maintenance;
import java.io.IOException;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sandbox serving in this JVM: what {@code sandbox start --foreground} runs, and what tests start directly.
 * {@link #close()} shuts it down cleanly: stop accepting, let in-flight requests finish, close the pool, stop the
 * private database server if the sandbox runs one, remove {@code .lock}.
 */
public final class RunningSandbox implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RunningSandbox.class);
  private static final Set<Path> RUNNING_HERE = ConcurrentHashMap.newKeySet();
  private static final String HOOK =
      "#!/bin/sh\n"
          + "# snapstash sandbox test knob: holds a push in flight after its pack arrived, before any ref moves.\n"
          + "cat >/dev/null\n"
          + "sleep \"${SNAPSTASH_PRE_RECEIVE_DELAY:-0}\"\n";

  private final SandboxLayout layout;
  private final SandboxState state;
  private final SandboxKnobs knobs;
  private final Maintenance maintenance;
  private final SandboxDatabase db;
  private final LocalDatabaseServer localServer;
  private final Server server;
  private final BitbucketHandler handler;
  private final CountDownLatch closed = new CountDownLatch(1);
  private boolean closing;

  private RunningSandbox(SandboxLayout layout, SandboxState state, SandboxKnobs knobs, Maintenance maintenance,
      SandboxDatabase db, LocalDatabaseServer localServer, Server server, BitbucketHandler handler) {
    this.handler = handler;
    this.localServer = localServer;
    this.layout = layout;
    this.state = state;
    this.knobs = knobs;
    this.maintenance = maintenance;
    this.db = db;
    this.server = server;
  }

  /**
   * Starts serving, creating the home, database and repositories on first start and reusing them afterwards. A
   * failure leaves nothing running and is also written to {@code home/log/start-error.json} for a detached parent.
   */
  public static RunningSandbox start(SandboxOptions o, ProcessRunner runner) {
    SandboxLayout layout = new SandboxLayout(o.dir());
    prepareDir(o, layout);
    if (!RUNNING_HERE.add(layout.dir())) {
      throw SnapstashException.precondition(
          "a sandbox is already running in " + layout.dir() + " in this process: stop it first");
    }
    try {
      return startUnguarded(o, runner, layout);
    } catch (RuntimeException e) {
      RUNNING_HERE.remove(layout.dir());
      recordStartError(layout, e);
      throw e;
    }
  }

  /**
   * Creates the directory and its log directory, and clears an earlier start error. When a private PostgreSQL
   * will run as the postgres user (this JVM is root), the directories created here are made enterable (not
   * listable) by others; directories that already existed are left alone, and core's server names the one the
   * postgres user cannot enter.
   */
  static void prepareDir(SandboxOptions o, SandboxLayout layout) {
    List<Path> created = new ArrayList<>();
    for (Path p = layout.dir(); p != null && !Files.exists(p); p = p.getParent()) {
      created.add(p);
    }
    try {
      Files.createDirectories(layout.log());
      Files.deleteIfExists(layout.startError());
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + layout.log() + ": " + e.getMessage(), e);
    }
    if (created.isEmpty() || !LocalDb.isRoot()) {
      return;
    }
    SandboxState previous;
    try {
      previous = SandboxState.read(layout.dir()).orElse(null);
    } catch (SnapstashException e) {
      return;
    }
    if (DbSettings.plannedLocalServer(o, previous) != DbKind.POSTGRESQL) {
      return;
    }
    for (Path p : created) {
      try {
        var perms = Files.getPosixFilePermissions(p);
        perms.add(PosixFilePermission.OTHERS_EXECUTE);
        perms.add(PosixFilePermission.GROUP_EXECUTE);
        Files.setPosixFilePermissions(p, perms);
      } catch (IOException e) {
        throw SnapstashException.storage("cannot let the postgres user enter " + p + ": " + e.getMessage(), e);
      }
    }
  }

  private static RunningSandbox startUnguarded(SandboxOptions o, ProcessRunner runner, SandboxLayout layout) {
    SandboxState previous = SandboxState.read(layout.dir()).orElse(null);
    Sandbox.liveProcess(previous).ifPresent(pid -> {
      throw SnapstashException.precondition(
          "a sandbox is already running in " + layout.dir() + " (pid " + pid + ", " + previous.baseUrl()
              + "): stop it with `snapstash sandbox stop --dir " + layout.dir() + "` first");
    });
    createHome(layout);
    try {
      // A database kept running by `stop --keep-database` is served again (LocalDb adopts it) and is ours to stop.
      Files.deleteIfExists(layout.databaseKept());
    } catch (IOException e) {
      throw SnapstashException.storage("cannot remove " + layout.databaseKept() + ": " + e.getMessage(), e);
    }
    int port = o.port() != null ? o.port() : previous != null ? previous.port() : SandboxOptions.DEFAULT_PORT;

    QueuedThreadPool threads = new QueuedThreadPool(64, 4);
    threads.setName("sandbox-http");
    Server server = new Server(threads);
    ServerConnector connector = o.tls()
        ? new ServerConnector(server, 1, 1, tls(layout, runner))
        : new ServerConnector(server, 1, 1);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    server.addConnector(connector);
    ServerConnector plain = null;
    if (o.tls()) {
      plain = new ServerConnector(server, 1, 1);
      plain.setHost("127.0.0.1");
      plain.setPort(0);
      server.addConnector(plain);
    }
    server.setStopTimeout(30_000);
    try {
      connector.open();
      if (plain != null) {
        plain.open();
      }
    } catch (IOException e) {
      throw new SnapstashException(
          ErrorKind.PRECONDITION,
          "port " + port + " on 127.0.0.1 is in use" + (e instanceof BindException ? "" : " (" + e.getMessage() + ")")
              + ": choose another with --port",
          e);
    }
    String context = o.contextPath() == null ? "" : o.contextPath();
    String baseUrl = (o.tls() ? "https" : "http") + "://127.0.0.1:" + connector.getLocalPort() + context;
    String redirectUrl = plain == null ? null : "http://127.0.0.1:" + plain.getLocalPort() + context;
    SandboxDatabase db = null;
    LocalDatabaseServer localServer = null;
    try {
      String adminPasswordFile;
      String adminPassword;
      if (o.adminPasswordFile() != null) {
        adminPasswordFile = o.adminPasswordFile().toAbsolutePath().toString();
        adminPassword = Secrets.read(o.adminPasswordFile(), "--admin-password-file");
      } else if (previous != null && previous.adminPasswordFile() != null
          && Files.exists(Path.of(previous.adminPasswordFile()))) {
        adminPasswordFile = previous.adminPasswordFile();
        adminPassword = Secrets.read(Path.of(adminPasswordFile), "--admin-password-file");
      } else {
        adminPasswordFile = layout.adminPassword().toString();
        adminPassword = Secrets.readOrCreate(layout.adminPassword());
      }
      String userPassword = Secrets.readOrCreate(layout.userPassword());
      String adminToken = Secrets.readOrCreate(layout.adminToken());
      DbSettings dbs = DbSettings.resolve(o, previous, layout);
      if (dbs.local()) {
        Integer lastPort = previous != null && previous.dbLocal() && previous.db() == dbs.kind() ? previous.dbPort()
            : null;
        localServer = LocalDb.start(dbs.kind(), dbs.localDataDir(), lastPort, dbs.password(), runner);
        dbs = dbs.on(localServer);
      }
      db = SandboxDatabase.open(dbs.kind(), dbs.url(), dbs.user(), dbs.password(), dbs.passwordOption());
      db.createSchema();
      if (!db.isSeeded()) {
        wipePartial(db, layout);
        String instanceUrl = o.proxyName() != null ? "https://" + o.proxyName() : baseUrl;
        new HomeGenerator(runner).generate(db, layout,
            new HomeGenerator.Spec(o.repos(), o.commits(), o.filesPerCommit(), o.blobKb()));
        db.seed(instanceUrl);
      }
      db.upsertUser(1, "admin", "Administrator", adminPassword, true);
      db.upsertUser(2, "user", "Ordinary User", userPassword, false);
      writeProperties(layout, dbs, o.proxyName());
      Path hooks = layout.caches().resolve("sandbox-hooks");
      Files.createDirectories(hooks);
      Path hook = hooks.resolve("pre-receive");
      Files.writeString(hook, HOOK, StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwxr-xr-x"));

      SandboxKnobs knobs = new SandboxKnobs();
      Maintenance maintenance = new Maintenance(Clock.systemUTC(), knobs, maintenanceLog(layout));
      db.tracker(maintenance);
      String recovery =
          StartEnvironment.recoveryPassword(layout.startEnvironment(), System.getenv("JVM_SUPPORT_RECOMMENDED_ARGS"));
      if (recovery != null) {
        // As Bitbucket does: say loudly that the instance runs in recovery mode, never the password.
        log.warn("lockout recovery mode (-D{} in {}): recovery_admin may log in; remove it before the next start",
            StartEnvironment.RECOVERY_PROPERTY, layout.startEnvironment());
      }
      BitbucketHandler handler = new BitbucketHandler(db, maintenance, knobs, new GitHttpBackend(), runner,
          layout.repositories(), hooks, baseUrl, Map.of(adminToken, "admin"), recovery);
      Handler served = o.contextPath() == null ? handler : new ContextHandler(handler, o.contextPath());
      if (plain != null) {
        served = new ToHttps(served, plain, connector.getLocalPort());
      }
      server.setHandler(new GracefulHandler(served));
      server.start();

      long pid = ProcessHandle.current().pid();
      Files.writeString(layout.lock(), pid + "\n", StandardCharsets.UTF_8);
      SandboxState state = new SandboxState(baseUrl, connector.getLocalPort(), pid, "admin", adminPasswordFile,
          "user", layout.userPassword().toString(), dbs.kind(), dbs.url(), dbs.user(), dbs.passwordFile(),
          dbs.local(), dbs.local() ? dbs.localDataDir().toString() : null, dbs.host(), dbs.port(), dbs.database(),
          o.tls() ? layout.caFile().toString() : null, layout.adminToken().toString(), redirectUrl);
      state.write(layout.dir());
      Files.writeString(layout.config(), SnapstashYml.render(layout.dir(), state), StandardCharsets.UTF_8);
      log.info("sandbox serving {} from {} ({})", baseUrl, layout.home(), dbs.kind().optionValue());
      return new RunningSandbox(layout, state, knobs, maintenance, db, localServer, server, handler);
    } catch (IOException e) {
      stopQuietly(server, db, localServer);
      throw SnapstashException.storage("cannot prepare " + layout.home() + ": " + e.getMessage(), e);
    } catch (SnapstashException e) {
      stopQuietly(server, db, localServer);
      throw e;
    } catch (Exception e) {
      stopQuietly(server, db, localServer);
      throw SnapstashException.internal("the sandbox failed to start: " + e, e);
    }
  }

  /** HTTP/1.1 over TLS with the directory's self-signed certificate, made on first use. */
  private static ConnectionFactory[] tls(SandboxLayout layout, ProcessRunner runner) {
    String password = SandboxTls.ensure(layout, runner);
    SslContextFactory.Server ssl = new SslContextFactory.Server();
    ssl.setKeyStorePath(layout.keystore().toString());
    ssl.setKeyStorePassword(password);
    ssl.setKeyStoreType("PKCS12");
    HttpConfiguration http = new HttpConfiguration();
    // Clients reach the sandbox by address, which carries no SNI name to check.
    http.addCustomizer(new SecureRequestCustomizer(false, false, -1, false));
    return new ConnectionFactory[] {new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(http)};
  }

  /**
   * The plain-http port of a TLS sandbox answers everything with a permanent redirect to the same path over https,
   * as administrators commonly set up a Bitbucket's http port.
   */
  private static final class ToHttps extends Handler.Wrapper {
    private final ServerConnector plain;
    private final int httpsPort;

    ToHttps(Handler next, ServerConnector plain, int httpsPort) {
      super(next);
      this.plain = plain;
      this.httpsPort = httpsPort;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      if (request.getConnectionMetaData().getConnector() != plain) {
        return super.handle(request, response, callback);
      }
      response.setStatus(301);
      response.getHeaders().put(HttpHeader.LOCATION,
          "https://127.0.0.1:" + httpsPort + request.getHttpURI().getPathQuery());
      response.write(true, null, callback);
      return true;
    }
  }

  /** The file name, under the home's {@code log/}, where the instance notes each lock and unlock. */
  public static final String MAINTENANCE_LOG = "maintenance.log";

  /**
   * One line per lock and unlock, {@code <ISO instant> LOCKED by <user>} or {@code <ISO instant> UNLOCKED}, in the
   * home's {@code log/} (disposable, never backed up). Appended and flushed at once: a reader sees each event as
   * soon as the instance has taken it.
   */
  private static Maintenance.Journal maintenanceLog(SandboxLayout layout) {
    Path file = layout.log().resolve(MAINTENANCE_LOG);
    return (at, event) -> {
      try {
        Files.writeString(file, at + " " + event + "\n", StandardCharsets.UTF_8,
            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      } catch (IOException e) {
        log.warn("cannot note '{}' in {}: {}", event, file, e.getMessage());
      }
    };
  }

  private static void stopQuietly(Server server, SandboxDatabase db, LocalDatabaseServer localServer) {
    try {
      server.stop();
    } catch (Exception e) {
      log.debug("stopping the half-started server", e);
    }
    for (var c : server.getConnectors()) {
      if (c instanceof ServerConnector sc) {
        sc.close();
      }
    }
    if (db != null) {
      db.close();
    }
    LocalDb.stopQuietly(localServer);
  }

  private static void createHome(SandboxLayout l) {
    try {
      for (Path p : new Path[] {l.repositories(), l.caches(), l.log(), l.tmp()}) {
        Files.createDirectories(p);
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create the home in " + l.home() + ": " + e.getMessage(), e);
    }
  }

  /** A first start that died half-way left rows or repositories; start again from empty. */
  private static void wipePartial(SandboxDatabase db, SandboxLayout layout) throws IOException {
    db.inTransaction(c -> {
      try (var s = c.createStatement()) {
        // Children before parents: the push tables reference each other, the ledger references repository.
        for (String t : new String[] {"sta_repo_push_ref", "sta_repo_push_activity", "sta_repo_activity",
            "sta_activity", "push_ledger", "repository", "project", "plugin_setting", "app_property"}) {
          s.executeUpdate("DELETE FROM " + t);
        }
      }
      return null;
    });
    try (Stream<Path> walk = Files.walk(layout.repositories())) {
      walk.sorted(Comparator.reverseOrder())
          .filter(p -> !p.equals(layout.repositories()))
          .forEach(p -> p.toFile().delete());
    }
  }

  private static void writeProperties(SandboxLayout layout, DbSettings dbs, String proxyName) throws IOException {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("jdbc.driver", dbs.kind().driver());
    p.put("jdbc.url", dbs.url());
    p.put("jdbc.user", dbs.user());
    p.put("jdbc.password", dbs.password());
    if (proxyName != null) {
      p.put("server.proxy-name", proxyName);
      p.put("server.proxy-port", "443");
      p.put("server.scheme", "https");
      p.put("server.secure", "true");
    }
    StringBuilder sb = new StringBuilder("# Written by the snapstash sandbox, as Bitbucket's setup would.\n");
    p.forEach((k, v) -> sb.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
    Path f = layout.properties();
    if (!Files.exists(f)) {
      Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }
    Files.writeString(f, sb.toString(), StandardCharsets.UTF_8);
  }

  private static void recordStartError(SandboxLayout layout, RuntimeException e) {
    ErrorKind kind = e instanceof SnapstashException se ? se.kind() : ErrorKind.INTERNAL;
    Map<String, String> m = new LinkedHashMap<>();
    m.put("kind", kind.name());
    m.put("message", e.getMessage());
    try {
      SandboxState.JSON.writeValue(layout.startError().toFile(), m);
    } catch (IOException io) {
      e.addSuppressed(io);
    }
  }

  public String baseUrl() {
    return state.baseUrl();
  }

  public int port() {
    return state.port();
  }

  public SandboxState state() {
    return state;
  }

  public SandboxLayout layout() {
    return layout;
  }

  public SandboxKnobs knobs() {
    return knobs;
  }

  public Maintenance maintenance() {
    return maintenance;
  }

  /** Requests answered 429 by the rate-limit knob so far. */
  public int rateLimitedRequests() {
    return handler.rateLimitedRequests();
  }

  /** Logins of this user the sandbox refused so far (wrong password, or while demanding a CAPTCHA). */
  public int failedLogins(String user) {
    return handler.failedLogins(user);
  }

  /** Lifts a CAPTCHA demand on this user, as an administrator would. */
  public void clearCaptcha(String user) {
    handler.clearCaptcha(user);
  }

  /** With TLS, the certificate to trust; else null. */
  public java.nio.file.Path caFile() {
    return state.caFile() == null ? null : java.nio.file.Path.of(state.caFile());
  }

  /** Pushes being served right now; a test holding one in flight waits for this. */
  public int pushesInFlight() {
    return handler.pushesInFlight();
  }

  public SandboxDatabase database() {
    return db;
  }

  /** The private database server this sandbox runs (and stops on close), if it runs one. */
  public Optional<LocalDatabaseServer> localDatabaseServer() {
    return Optional.ofNullable(localServer);
  }

  public String adminPassword() {
    return state.adminPassword();
  }

  public String userPassword() {
    return state.userPassword();
  }

  /** Blocks until {@link #close()} has finished (the foreground command waits here). */
  public void awaitClosed() throws InterruptedException {
    closed.await();
  }

  /**
   * Stops accepting, waits for in-flight requests (30 s at most), closes the pool, removes {@code .lock}. Safe to
   * call from several threads; every caller returns once the instance is closed.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closing) {
        // Another thread (a shutdown hook) is closing: return only once it is done.
        try {
          closed.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return;
      }
      closing = true;
    }
    try {
      log.info("sandbox stopping ({} in flight)", maintenance.inFlight());
      try {
        server.stop();
      } catch (Exception e) {
        log.warn("stopping the HTTP server", e);
      }
      db.close();
      if (localServer != null && Files.exists(layout.databaseKept())) {
        log.info("leaving the private database server running ({}): sandbox stop --keep-database", localServer);
      } else {
        LocalDb.stopQuietly(localServer);
      }
      try {
        Files.deleteIfExists(layout.lock());
      } catch (IOException e) {
        log.warn("cannot remove {}", layout.lock(), e);
      }
      SandboxState.read(layout.dir())
          .filter(s -> state.pid().equals(s.pid()))
          .ifPresent(s -> s.withPid(null).write(layout.dir()));
      log.info("sandbox stopped");
    } finally {
      RUNNING_HERE.remove(layout.dir());
      closed.countDown();
    }
  }
}
