package dev.snapstash.sandbox.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.sandbox.SandboxKnobs;
import dev.snapstash.sandbox.maintenance.Maintenance;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The test knobs over HTTP, for a sandbox running detached from its test: {@code PUT} (or {@code POST}) sets the
 * fields sent, and every method answers every knob with the instance's state. Not part of Bitbucket, so it is
 * routed before the front door and the lock: a test can always reach it to turn a fault off.
 */
final class KnobRoutes {
  static final String PATH = "/rest/sandbox/1.0/knobs";

  private final SandboxKnobs knobs;
  private final Maintenance maintenance;
  private final FrontDoor frontDoor;
  private final Access access;

  KnobRoutes(SandboxKnobs knobs, Maintenance maintenance, FrontDoor frontDoor, Access access) {
    this.knobs = knobs;
    this.maintenance = maintenance;
    this.frontDoor = frontDoor;
    this.access = access;
  }

  void serve(Exchange x) throws IOException {
    if (access.sysadmin(x).isEmpty()) {
      return;
    }
    if (x.method().equals("PUT") || x.method().equals("POST")) {
      set(x.readJson());
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
    out.put("rateLimitedRequests", frontDoor.rateLimitedRequests());
    out.put("locked", maintenance.isLocked());
    out.put("inFlight", maintenance.inFlight());
    maintenance.task().ifPresent(t -> {
      Map<String, Object> m = MaintenanceRoutes.task(t);
      m.put("reported", t.reported());
      out.put("task", m);
    });
    x.json(200, out);
  }

  private void set(JsonNode in) {
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
      frontDoor.resetRateLimits();
      knobs.rateLimit(r.isNull() ? null : new SandboxKnobs.RateLimit(
          r.path("capacity").asInt(60), r.path("perSecond").asDouble(5), r.path("retryAfterAsDate").asBoolean()));
    }
  }
}
