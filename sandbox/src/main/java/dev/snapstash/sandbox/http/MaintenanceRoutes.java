package dev.snapstash.sandbox.http;

import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.maintenance.Maintenance;
import dev.snapstash.sandbox.maintenance.MaintenanceException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.util.Fields;

/**
 * The maintenance protocol under {@code /mvc/}: lock, start the external backup, drain status, progress, cancel and
 * unlock (docs/bitbucket-protocol.md). It is served while locked; the protocol's refusals come from {@link
 * Maintenance} as {@link MaintenanceException}s, which the router answers.
 */
final class MaintenanceRoutes {
  private final Maintenance maintenance;
  private final Access access;

  MaintenanceRoutes(Maintenance maintenance, Access access) {
    this.maintenance = maintenance;
    this.access = access;
  }

  void serve(Exchange x) {
    Fields query = x.query();
    String headerToken = x.header("X-Atlassian-Maintenance-Token");
    if (x.method().equals("GET") && x.path().equals("/mvc/maintenance")) {
      // Read by Bitbucket's maintenance page, which every user sees while locked (UI): no permission needed; the
      // token, when sent, is what is checked.
      status(x, headerToken);
      return;
    }
    Optional<SandboxDatabase.User> user = access.sysadmin(x);
    if (user.isEmpty()) {
      return;
    }
    switch (x.method() + " " + x.path()) {
      case "POST /mvc/maintenance/lock" -> {
        Maintenance.LockGrant g =
            maintenance.lock(new Maintenance.Owner(user.get().name(), user.get().displayName()));
        Map<String, Object> owner = new LinkedHashMap<>();
        owner.put("displayName", g.owner().displayName());
        owner.put("name", g.owner().name());
        x.json(202, Exchange.map("unlockToken", g.unlockToken(), "owner", owner));
      }
      case "DELETE /mvc/maintenance/lock" -> {
        maintenance.unlock(query.getValue("token"));
        x.empty(202);
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
        x.json(200, body);
      }
      case "POST /mvc/maintenance" -> {
        maintenance.cancel(query.getValue("token"));
        x.empty(202);
      }
      case "POST /mvc/admin/backups/progress/client" -> {
        maintenance.progress(query.getValue("token"), query.getValue("percentage"));
        x.empty(202);
      }
      default -> x.error(404, "No maintenance resource at " + x.method() + " " + x.path() + ".",
          "com.atlassian.bitbucket.NoSuchResourceException");
    }
  }

  private void status(Exchange x, String headerToken) {
    Maintenance.Status s = maintenance.status(headerToken);
    Map<String, Object> body = new LinkedHashMap<>();
    if (s.task() != null) {
      body.put("task", task(s.task()));
    }
    body.put("db-state", s.dbState());
    body.put("scm-state", s.scmState());
    x.json(200, body);
  }

  /** A backup task as the maintenance resources show it (the knobs show the same, and what was reported). */
  static Map<String, Object> task(Maintenance.Task t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", t.id());
    m.put("state", t.state());
    m.put("type", "BACKUP");
    m.put("progress", Exchange.map("percentage", t.percentage(), "message", t.message()));
    return m;
  }
}
