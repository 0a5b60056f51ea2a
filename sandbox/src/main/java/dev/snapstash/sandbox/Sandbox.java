package dev.snapstash.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.localdb.LocalDatabaseServer;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandbox's lifecycle by directory: detached start, stop, status. The in-process instance is {@link
 * RunningSandbox}.
 */
public final class Sandbox {
  private static final Logger log = LoggerFactory.getLogger(Sandbox.class);
  private static final Duration STOP_GRACE = Duration.ofSeconds(30);

  /**
   * What {@code status} reports.
   *
   * @param db the database kind ({@code h2}, {@code postgresql}, {@code mariadb}), or {@code null} if never started
   * @param jdbcUrl where the database is
   * @param dbDataDir the data directory of the sandbox's private database server, or {@code null} (H2, external)
   * @param dbServerRunning whether that private server runs right now, or {@code null} if there is none
   * @param dbKept whether that server was kept running on purpose by {@code sandbox stop --keep-database}
   */
  public record Status(boolean running, String baseUrl, Long pid, Path dir, String db, String jdbcUrl,
      String dbDataDir, Boolean dbServerRunning, boolean dbKept) {

    /** Where the database runs, in words: embedded, external, or the private server's directory and state. */
    public String dbLocation() {
      if (db == null) {
        return "none yet";
      }
      String where = db + " " + jdbcUrl;
      if ("h2".equals(db)) {
        return where + " (embedded)";
      }
      if (dbDataDir == null) {
        return where + " (external server)";
      }
      return where + " (private server in " + dbDataDir + ", " + (Boolean.TRUE.equals(dbServerRunning)
          ? "running" : "stopped") + ")";
    }
  }

  private Sandbox() {}

  /**
   * The pid serving the sandbox of this state, if that process is alive and is a sandbox for this directory (a
   * recycled pid of some other program does not count).
   */
  public static Optional<Long> liveProcess(SandboxState s) {
    if (s == null || s.pid() == null) {
      return Optional.empty();
    }
    Optional<ProcessHandle> h = ProcessHandle.of(s.pid());
    if (h.isEmpty() || !h.get().isAlive()) {
      return Optional.empty();
    }
    if (s.pid() == ProcessHandle.current().pid()) {
      return Optional.empty();
    }
    String cmd = commandLine(h.get());
    // A pid from an earlier boot may belong to anything now; only a sandbox command line counts.
    if (!cmd.isEmpty() && !cmd.contains("--foreground")) {
      return Optional.empty();
    }
    return Optional.of(s.pid());
  }

  /**
   * The whole command line: read from {@code /proc/<pid>/cmdline} where it exists, since the JDK's {@code
   * ProcessHandle.Info.commandLine} keeps only its first page (4 KiB) and a long class path (a test's) pushed the
   * sandbox's {@code --foreground} past it, so that a running sandbox read as stopped.
   */
  private static String commandLine(ProcessHandle h) {
    Path proc = Path.of("/proc", Long.toString(h.pid()), "cmdline");
    try {
      if (Files.isReadable(proc)) {
        return new String(Files.readAllBytes(proc), java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' ').strip();
      }
    } catch (IOException e) {
      // Gone meanwhile, or not ours to read: as the JDK sees it.
    }
    return h.info().commandLine().orElse("");
  }

  public static Status status(Path dir) {
    SandboxLayout l = new SandboxLayout(dir);
    Optional<SandboxState> s = SandboxState.read(l.dir());
    if (s.isEmpty()) {
      return new Status(false, null, null, l.dir(), null, null, null, null, false);
    }
    Optional<Long> pid = liveProcess(s.get());
    boolean inThisJvm = s.get().pid() != null && s.get().pid() == ProcessHandle.current().pid()
        && Files.exists(l.lock());
    boolean running = pid.isPresent() || inThisJvm;
    SandboxState st = s.get();
    boolean local = st.dbLocal() && st.dbDataDir() != null;
    Boolean dbRunning = local ? LocalDb.running(st, new ProcessRunner()).isPresent() : null;
    return new Status(running, st.baseUrl(), running ? st.pid() : null, l.dir(),
        st.db() == null ? null : st.db().optionValue(), st.jdbcUrl(), local ? st.dbDataDir() : null, dbRunning,
        Boolean.TRUE.equals(dbRunning) && Files.exists(l.databaseKept()));
  }

  /**
   * Starts the sandbox in the background and returns once it answers {@code GET
   * /rest/api/1.0/application-properties}. {@code launcher} is the command that, given {@code sandbox start}'s
   * options plus {@code --foreground}, serves in the foreground (normally {@code java -cp … dev.snapstash.cli.Main
   * sandbox start}).
   */
  public static SandboxState startDetached(SandboxOptions o, List<String> launcher, ProcessRunner runner) {
    SandboxLayout l = new SandboxLayout(o.dir());
    SandboxState previous = SandboxState.read(l.dir()).orElse(null);
    liveProcess(previous).ifPresent(pid -> {
      throw SnapstashException.precondition(
          "a sandbox is already running in " + l.dir() + " (pid " + pid + ", " + previous.baseUrl()
              + "): stop it with `snapstash sandbox stop --dir " + l.dir() + "` first");
    });
    Integer port = o.port() != null ? o.port() : previous != null ? Integer.valueOf(previous.port())
        : Integer.valueOf(SandboxOptions.DEFAULT_PORT);
    if (port != 0) {
      checkPortFree(port);
    }
    RunningSandbox.prepareDir(o, l);
    List<String> argv = new ArrayList<>(launcher);
    argv.addAll(o.toArgs());
    argv.add("--foreground");
    long pid = runner.spawnDetached(Command.of(argv).inDirectory(l.dir()), l.logFile());
    log.info("sandbox starting in the background (pid {}), log in {}", pid, l.logFile());
    long deadline = System.nanoTime() + o.startTimeout().toNanos();
    HttpClient http = null;
    while (System.nanoTime() < deadline) {
      if (Files.exists(l.startError())) {
        waitForExit(pid, Duration.ofSeconds(10));
        throw startError(l);
      }
      Optional<ProcessHandle> h = ProcessHandle.of(pid);
      if (h.isEmpty() || !h.get().isAlive()) {
        if (Files.exists(l.startError())) {
          throw startError(l);
        }
        throw new SnapstashException(
            ErrorKind.EXTERNAL_COMMAND, "the sandbox process exited during start: see " + l.logFile());
      }
      Optional<SandboxState> s = SandboxState.read(l.dir()).filter(x -> x.pid() != null && x.pid() == pid);
      if (s.isPresent() && http == null) {
        http = client(s.get());
      }
      if (s.isPresent() && answers(http, s.get().baseUrl())) {
        return s.get();
      }
      sleep(100);
    }
    kill(pid);
    throw new SnapstashException(
        ErrorKind.UNREACHABLE,
        "the sandbox did not answer within " + o.startTimeout().toSeconds() + " s and was stopped: see "
            + l.logFile());
  }

  private static SnapstashException startError(SandboxLayout l) {
    try {
      JsonNode n = SandboxState.JSON.readTree(l.startError().toFile());
      return new SnapstashException(ErrorKind.valueOf(n.get("kind").asText()), n.get("message").asText());
    } catch (IOException | RuntimeException e) {
      return new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND, "the sandbox failed to start: see " + l.logFile(), e);
    }
  }

  /** A client that trusts the sandbox's own certificate when it serves TLS; no proxy (it is on loopback). */
  static HttpClient client(SandboxState s) {
    dev.snapstash.core.http.HttpTransport t = s.caFile() == null
        ? dev.snapstash.core.http.HttpTransport.direct()
        : dev.snapstash.core.http.HttpTransport.trusting(Path.of(s.caFile()), name -> null);
    return t.client(Duration.ofSeconds(2));
  }

  static boolean answers(HttpClient http, String baseUrl) {
    try {
      HttpResponse<Void> r = http.send(
          HttpRequest.newBuilder(URI.create(baseUrl + "/rest/api/1.0/application-properties"))
              .timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while waiting for the sandbox", e);
    }
  }

  static void checkPortFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    } catch (IOException e) {
      throw SnapstashException.precondition("port " + port + " on 127.0.0.1 is in use: choose another with --port");
    }
  }

  /**
   * What {@code stop} did.
   *
   * @param sandboxStopped whether a sandbox process was running and was stopped
   * @param databaseStopped whether a private database server was running and was stopped
   * @param databaseKept whether a private database server is left running on purpose ({@code --keep-database})
   */
  public record Stopped(boolean sandboxStopped, boolean databaseStopped, boolean databaseKept) {}

  /** {@link #stop(Path, ProcessRunner)} with a runner of its own. */
  public static boolean stop(Path dir) {
    return stop(dir, new ProcessRunner());
  }

  /**
   * Stops the sandbox serving this directory: SIGTERM, a grace period for in-flight work, then SIGKILL (children
   * too); then its private database server, if one still runs (the sandbox stops it itself unless it was killed).
   * Returns whether something was running. Safe to repeat.
   */
  public static boolean stop(Path dir, ProcessRunner runner) {
    Stopped s = stop(dir, runner, false);
    return s.sandboxStopped() || s.databaseStopped();
  }

  /**
   * As {@link #stop(Path, ProcessRunner)}; with {@code keepDatabase} the private database server, if the sandbox
   * has one, is left running, as a real database server outlives a stopped Bitbucket: a restore into the
   * instance's own home and database can then be rehearsed, and the next {@code start} serves that server again
   * (it adopts a server already running in its data directory). A later stop without {@code keepDatabase} stops
   * it.
   */
  public static Stopped stop(Path dir, ProcessRunner runner, boolean keepDatabase) {
    SandboxLayout l = new SandboxLayout(dir);
    Optional<SandboxState> s = SandboxState.read(l.dir());
    if (s.isEmpty()) {
      throw SnapstashException.precondition("no sandbox in " + l.dir() + " (no sandbox.json): check --dir");
    }
    boolean privateServer = s.get().dbLocal() && s.get().dbDataDir() != null && s.get().db() != DbKind.H2;
    try {
      // Before the signal: the sandbox reads it as it stops, to leave its server running.
      if (keepDatabase && privateServer) {
        Files.writeString(l.databaseKept(), "kept by `snapstash sandbox stop --keep-database`\n");
      } else {
        Files.deleteIfExists(l.databaseKept());
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + l.databaseKept() + ": " + e.getMessage(), e);
    }
    Optional<Long> pid = liveProcess(s.get());
    if (pid.isPresent()) {
      // The server may run below the sandbox's process (through runuser): a kept one is not a leftover to kill.
      kill(pid.get(), keepDatabase ? LocalDb.serverProcesses(s.get()) : java.util.Set.of());
    }
    try {
      Files.deleteIfExists(l.lock());
    } catch (IOException e) {
      throw SnapstashException.storage("cannot remove " + l.lock() + ": " + e.getMessage(), e);
    }
    SandboxState.read(l.dir()).filter(x -> x.pid() != null).ifPresent(x -> x.withPid(null).write(l.dir()));
    boolean servedHere = s.get().pid() != null && s.get().pid() == ProcessHandle.current().pid();
    Optional<LocalDatabaseServer> db = servedHere ? Optional.empty() : LocalDb.running(s.get(), runner);
    if (keepDatabase) {
      return new Stopped(pid.isPresent(), false, db.isPresent());
    }
    if (db.isPresent()) {
      log.info("stopping the sandbox's private database server: {}", db.get());
      db.get().stop();
    }
    return new Stopped(pid.isPresent(), db.isPresent(), false);
  }

  private static void kill(long pid) {
    kill(pid, java.util.Set.of());
  }

  /** SIGTERM, then SIGKILL after the grace period; then its descendants still alive, except {@code spare}. */
  private static void kill(long pid, java.util.Set<Long> spare) {
    Optional<ProcessHandle> h = ProcessHandle.of(pid);
    if (h.isEmpty()) {
      return;
    }
    List<ProcessHandle> children = h.get().descendants().filter(c -> !spare.contains(c.pid())).toList();
    h.get().destroy();
    if (!waitForExit(pid, STOP_GRACE)) {
      log.warn("sandbox pid {} did not stop within {} s; killing it", pid, STOP_GRACE.toSeconds());
      h.get().destroyForcibly();
      waitForExit(pid, Duration.ofSeconds(10));
    }
    for (ProcessHandle c : children) {
      if (c.isAlive()) {
        c.destroyForcibly();
      }
    }
  }

  private static boolean waitForExit(long pid, Duration max) {
    Optional<ProcessHandle> h = ProcessHandle.of(pid);
    if (h.isEmpty()) {
      return true;
    }
    try {
      h.get().onExit().get(max.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return false;
    } catch (java.util.concurrent.ExecutionException e) {
      return !h.get().isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while stopping the sandbox", e);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while waiting for the sandbox", e);
    }
  }
}
