package dev.snapstash.sandbox.http;

import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.SandboxKnobs;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.git.GitHttpBackend;
import dev.snapstash.sandbox.git.Refs;
import dev.snapstash.sandbox.maintenance.Maintenance;
import dev.snapstash.sandbox.maintenance.MaintenanceException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the sandbox answers over HTTP, routed by path to its area: the test knobs ({@link KnobRoutes}), then,
 * behind the {@link FrontDoor}, the maintenance protocol ({@link MaintenanceRoutes}), and, while unlocked, Git smart
 * HTTP ({@link GitRoutes}) and the REST subset ({@link RestRoutes}). Jetty core handler; requests are handled on a
 * pool thread with blocking I/O, which keeps the drain accounting in one {@code try/finally}.
 */
public final class BitbucketHandler extends Handler.Abstract {
  private static final Logger log = LoggerFactory.getLogger(BitbucketHandler.class);

  private final Maintenance maintenance;
  private final Access access;
  private final FrontDoor frontDoor;
  private final KnobRoutes knobRoutes;
  private final MaintenanceRoutes maintenanceRoutes;
  private final GitRoutes gitRoutes;
  private final RestRoutes restRoutes;

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
    this(db, maintenance, knobs, backend, runner, repositories, hooks, baseUrl, tokens, null);
  }

  /**
   * @param recoveryPassword Bitbucket's lockout recovery password ({@code -Datlassian.recovery.password}), or null:
   *     while set, {@code recovery_admin} logs in with it as a system administrator
   */
  public BitbucketHandler(
      SandboxDatabase db,
      Maintenance maintenance,
      SandboxKnobs knobs,
      GitHttpBackend backend,
      ProcessRunner runner,
      Path repositories,
      Path hooks,
      String baseUrl,
      Map<String, String> tokens,
      String recoveryPassword) {
    this.maintenance = maintenance;
    this.access = new Access(new Auth(db.users(), tokens, recoveryPassword), knobs, baseUrl);
    this.frontDoor = new FrontDoor(knobs, baseUrl);
    this.knobRoutes = new KnobRoutes(knobs, maintenance, frontDoor, access);
    this.maintenanceRoutes = new MaintenanceRoutes(maintenance, access);
    this.gitRoutes = new GitRoutes(db, access, knobs, backend, new Refs(runner), repositories, hooks);
    this.restRoutes = new RestRoutes(db, maintenance, knobs, access, baseUrl);
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    Exchange x = Exchange.of(request, response, callback);
    String path = x.path();
    try {
      if (path.startsWith(KnobRoutes.PATH)) {
        knobRoutes.serve(x);
      } else if (frontDoor.answered(x)) {
        return true;
      } else if (path.equals("/status")) {
        restRoutes.status(x);
      } else if (path.startsWith("/mvc/")) {
        maintenanceRoutes.serve(x);
      } else {
        unlessLocked(x);
      }
    } catch (MaintenanceException e) {
      x.error(e.status(), e.getMessage(), e.exceptionName());
    } catch (Exception e) {
      log.warn("{} {} failed", x.method(), path, e);
      if (!response.isCommitted()) {
        x.error(500, "An internal error occurred: " + e.getMessage(), e.getClass().getName());
      } else {
        callback.failed(e);
      }
    }
    return true;
  }

  /**
   * Git and REST requests are served under a drain ticket, so that a lock waits for them to finish; once locked,
   * they are refused as Bitbucket refuses them in maintenance mode.
   */
  private void unlessLocked(Exchange x) throws Exception {
    Maintenance.Kind kind = x.path().startsWith("/scm/") ? Maintenance.Kind.GIT : Maintenance.Kind.OTHER;
    Optional<Maintenance.Ticket> ticket = maintenance.tryBegin(kind);
    if (ticket.isEmpty()) {
      x.error(503,
          "Bitbucket is currently unavailable because it is in maintenance mode (a backup is running)."
              + " Please try again later.",
          "com.atlassian.bitbucket.maintenance.MaintenanceModeException");
      return;
    }
    try (Maintenance.Ticket t = ticket.get()) {
      if (kind == Maintenance.Kind.GIT) {
        gitRoutes.serve(x);
      } else {
        restRoutes.serve(x);
      }
    }
  }

  /** Requests answered 429 so far. */
  public int rateLimitedRequests() {
    return frontDoor.rateLimitedRequests();
  }

  /** Logins of this user refused so far. */
  public int failedLogins(String user) {
    return access.failedLogins(user);
  }

  /** Lifts a CAPTCHA demand, as an administrator would. */
  public void clearCaptcha(String user) {
    access.clearCaptcha(user);
  }

  /** Receive-pack requests being served now (for tests that hold a push in flight). */
  public int pushesInFlight() {
    return gitRoutes.pushesInFlight();
  }
}
