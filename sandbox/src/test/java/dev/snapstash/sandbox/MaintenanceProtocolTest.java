package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.db.SandboxDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every row and error case of the protocol table (docs/strategies/quiesce-bitbucket.md), over real HTTP, on each
 * database kind, served plainly and over TLS under a context path: every call authenticates against the users
 * table, paging is SQL, and draining waits for database transactions. Evidenced answers are the defaults; the
 * knobs' other plausible answers are checked too.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("setups")
class MaintenanceProtocolTest {
  /** A database kind, and whether the sandbox serves TLS under a context path. */
  record Setup(DbKind kind, boolean tls) {
    @Override
    public String toString() {
      return kind.optionValue() + (tls ? " over TLS under /bitbucket" : " over plain http");
    }
  }

  static Stream<Setup> setups() {
    return Stream.of(DbKind.values()).flatMap(k -> Stream.of(new Setup(k, false), new Setup(k, true)));
  }

  @RegisterExtension static final DatabaseServers servers = new DatabaseServers();
  @TempDir static Path dir;
  static RunningSandbox sandbox;
  static Http admin;
  static Http user;
  static Http wrong;
  static Http anonymous;
  static Http token;
  static GitClient git;

  @Parameter Setup setup;

  @BeforeParameterizedClassInvocation
  static void start(Setup setup) {
    Tools.requireGit();
    SandboxOptions o = SandboxOptions.defaults(dir.resolve("sb-" + setup.kind().optionValue() + (setup.tls() ? "-tls" : "")))
        .withPort(0).withContent(12, 2, 2, 1);
    if (setup.tls()) {
      o = o.withTls(true).withContextPath("/bitbucket");
    }
    sandbox = RunningSandbox.start(servers.on(setup.kind(), o), new ProcessRunner());
    Path ca = sandbox.caFile();
    admin = new Http(sandbox.baseUrl(), "admin", sandbox.adminPassword(), ca);
    user = new Http(sandbox.baseUrl(), "user", sandbox.userPassword(), ca);
    wrong = new Http(sandbox.baseUrl(), "admin", "not-the-password", ca);
    anonymous = new Http(sandbox.baseUrl(), null, null, ca);
    token = Http.bearer(sandbox.baseUrl(), sandbox.state().adminToken(), ca);
    git = new GitClient("admin", sandbox.adminPassword(), ca);
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    if (sandbox != null) {
      sandbox.close();
      sandbox = null;
    }
  }

  @AfterEach
  void leaveUnlocked() {
    sandbox.knobs().taskOutcome(null).noSuchLockStatus(404).wrongTokenStatus(409).permissionDeniedStatus(401)
        .secondLockStatus(409).statusCodeInMaintenance(503).captchaAfterFailures(0).unavailable(null)
        .rateLimit(null).loginRedirect(false);
    sandbox.clearCaptcha("admin");
    if (sandbox.maintenance().isLocked()) {
      throw new AssertionError("a test left the instance locked");
    }
  }

  @Test
  void versionIsAnonymous() {
    Http.Answer a = anonymous.send("GET", "/rest/api/1.0/application-properties");
    assertThat(a.status()).isEqualTo(200);
    JsonNode j = a.json();
    assertThat(j.get("version").asText()).isEqualTo("8.19.1");
    assertThat(j.get("buildNumber").asText()).isEqualTo("8019001");
    assertThat(j.get("displayName").asText()).isEqualTo("Bitbucket");
    assertThat(j.has("buildDate")).isTrue();
    assertThat(a.body()).doesNotContain(sandbox.baseUrl());
    assertThat(anonymous.send("GET", "/rest/api/latest/application-properties").status()).isEqualTo(200);
  }

  @Test
  void fullBackupSequence() {
    Http.Answer lock = admin.send("POST", "/mvc/maintenance/lock");
    assertThat(lock.status()).isEqualTo(202);
    String unlock = lock.json().get("unlockToken").asText();
    assertThat(unlock).matches("[0-9a-f]{20,}");
    assertThat(lock.json().get("owner").get("name").asText()).isEqualTo("admin");
    try {
      Http.Answer start = admin.send("POST", "/mvc/admin/backups?external=true", unlock);
      assertThat(start.status()).isEqualTo(200);
      JsonNode task = start.json();
      String cancel = task.get("cancelToken").asText();
      assertThat(cancel).matches("[0-9a-f]{20,}").isNotEqualTo(unlock);
      assertThat(task.get("id").asText()).isNotEmpty();
      assertThat(task.get("state").asText()).isEqualTo("RUNNING");
      assertThat(task.get("type").asText()).isEqualTo("BACKUP");
      assertThat(task.get("progress").get("percentage").asInt()).isZero();
      assertThat(task.get("progress").has("message")).isTrue();

      List<String> seen = new ArrayList<>();
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
        Http.Answer s = admin.send("GET", "/mvc/maintenance", unlock);
        assertThat(s.status()).isEqualTo(200);
        JsonNode j = s.json();
        assertThat(j.get("task").get("state").asText()).isEqualTo("RUNNING");
        assertThat(j.get("task").get("type").asText()).isEqualTo("BACKUP");
        seen.add(j.get("db-state").asText() + "/" + j.get("scm-state").asText());
        return seen.get(seen.size() - 1).equals("DRAINED/DRAINED");
      });
      assertThat(seen.get(0)).isEqualTo("DRAINING/DRAINING");

      assertThat(admin.send("POST", "/mvc/admin/backups/progress/client?token=" + unlock + "&percentage=50").status())
          .isIn(202, 204);
      assertThat(admin.send("POST", "/mvc/admin/backups/progress/client?token=" + unlock + "&percentage=100")
          .status()).isIn(202, 204);
      JsonNode polled = admin.send("GET", "/mvc/maintenance", unlock).json();
      assertThat(polled.get("task").get("progress").get("percentage").asInt()).isEqualTo(100);
      assertThat(sandbox.maintenance().task().orElseThrow().reported()).containsExactly(50, 100);

      Http.Answer bad = admin.send("POST", "/mvc/admin/backups/progress/client?token=" + unlock + "&percentage=101");
      assertThat(bad.status()).isEqualTo(400);
      bad.errorMessage();
      Http.Answer badToken = admin.send("POST", "/mvc/admin/backups/progress/client?token=nope&percentage=10");
      assertThat(badToken.status()).isEqualTo(409);
      badToken.errorMessage();
    } finally {
      assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock).status()).isIn(202, 204);
    }
    assertThat(sandbox.maintenance().task().orElseThrow().state()).isEqualTo("SUCCESSFUL");
    assertThat(admin.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(200);
    // The instance's own note of the lock and the unlock, which bench/lock-window times every client by.
    List<String> noted;
    try {
      noted = java.nio.file.Files.readAllLines(sandbox.layout().log().resolve(RunningSandbox.MAINTENANCE_LOG));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    assertThat(noted).hasSizeGreaterThanOrEqualTo(2);
    String[] locked = noted.get(noted.size() - 2).split(" ", 2);
    String[] unlocked = noted.get(noted.size() - 1).split(" ", 2);
    assertThat(locked[1]).isEqualTo("LOCKED by admin");
    assertThat(unlocked[1]).isEqualTo("UNLOCKED");
    assertThat(java.time.Instant.parse(unlocked[0])).isAfter(java.time.Instant.parse(locked[0]));
  }

  /** A missing permission is 401 with AuthorisationException by default (OAS), or 403 by the knob. */
  @Test
  void credentialsAndPermissionAreChecked() {
    for (int denied : new int[] {401, 403}) {
      sandbox.knobs().permissionDeniedStatus(denied);
      Http.Answer w = wrong.send("POST", "/mvc/maintenance/lock");
      assertThat(w.status()).isEqualTo(401);
      assertThat(w.json().get("errors").get(0).get("exceptionName").asText()).contains("IncorrectPassword");
      assertThat(anonymous.send("POST", "/mvc/maintenance/lock").status()).isEqualTo(401);
      Http.Answer u = user.send("POST", "/mvc/maintenance/lock");
      assertThat(u.status()).isEqualTo(denied);
      assertThat(u.errorMessage()).contains("permitted");
      assertThat(u.json().get("errors").get(0).get("exceptionName").asText())
          .isEqualTo("com.atlassian.bitbucket.AuthorisationException");
      assertThat(user.send("DELETE", "/mvc/maintenance/lock?token=x").status()).isEqualTo(denied);
      assertThat(user.send("POST", "/mvc/admin/backups?external=true", "x").status()).isEqualTo(denied);
      assertThat(user.send("GET", "/rest/api/1.0/admin/cluster").status()).isEqualTo(denied);
      // An access token authenticates, but never carries SYSADMIN.
      assertThat(token.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(200);
      assertThat(token.send("GET", "/rest/api/1.0/admin/cluster").status()).isEqualTo(denied);
      assertThat(token.send("POST", "/mvc/maintenance/lock").status()).isEqualTo(denied);
    }
    assertThat(sandbox.maintenance().isLocked()).isFalse();
  }

  /** {@code GET /rest/api/1.0/admin/cluster}: SYS_ADMIN, the OAS shape; {@code /status} without credentials. */
  @Test
  void clusterAndStatus() {
    Http.Answer c = admin.send("GET", "/rest/api/latest/admin/cluster");
    assertThat(c.status()).isEqualTo(200);
    JsonNode node = c.json().get("nodes").get(0);
    assertThat(node.get("id").asText()).isNotEmpty();
    assertThat(node.get("address").get("address").asText()).isEqualTo("127.0.0.1");
    assertThat(node.get("address").get("port").asInt()).isPositive();
    assertThat(node.get("buildVersion").asText()).isEqualTo("8.19.1");
    assertThat(node.get("local").asBoolean()).isTrue();
    assertThat(c.json().get("localNode").get("id").asText()).isEqualTo(node.get("id").asText());
    assertThat(c.json().get("running").asBoolean()).isTrue();
    assertThat(wrong.send("GET", "/rest/api/1.0/admin/cluster").status()).isEqualTo(401);

    Http.Answer running = anonymous.send("GET", "/status");
    assertThat(running.status()).isEqualTo(200);
    assertThat(running.json().get("state").asText()).isEqualTo("RUNNING");
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      for (int code : new int[] {503, 200}) {
        sandbox.knobs().statusCodeInMaintenance(code);
        Http.Answer m = anonymous.send("GET", "/status");
        assertThat(m.status()).isEqualTo(code);
        assertThat(m.json().get("state").asText()).isEqualTo("MAINTENANCE");
      }
      assertThat(admin.send("GET", "/rest/api/1.0/admin/cluster").status()).isEqualTo(503);
    } finally {
      admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock);
    }
  }

  /** No lock: 404 (UI) by default; a wrong token while locked: 409 (UI); both knobs' other answers too. */
  @Test
  void tokensAreChecked() {
    for (int[] knob : new int[][] {{404, 409}, {409, 403}, {403, 403}}) {
      int noLock = knob[0];
      int wrongToken = knob[1];
      sandbox.knobs().noSuchLockStatus(noLock).wrongTokenStatus(wrongToken);
      Http.Answer notLocked = admin.send("POST", "/mvc/admin/backups?external=true", "deadbeef");
      assertThat(notLocked.status()).isEqualTo(noLock);
      notLocked.errorMessage();
      assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=deadbeef").status()).isEqualTo(noLock);
      assertThat(admin.send("GET", "/mvc/maintenance", "deadbeef").status()).isEqualTo(noLock);
      assertThat(admin.send("POST", "/mvc/maintenance?token=deadbeef").status()).isEqualTo(noLock);

      String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
      try {
        Http.Answer missing = admin.send("POST", "/mvc/admin/backups?external=true", null);
        assertThat(missing.status()).isEqualTo(wrongToken);
        missing.errorMessage();
        assertThat(admin.send("POST", "/mvc/admin/backups?external=true", "deadbeef").status()).isEqualTo(wrongToken);
        assertThat(admin.send("GET", "/mvc/maintenance", "deadbeef").status()).isEqualTo(wrongToken);
        Http.Answer badUnlock = admin.send("DELETE", "/mvc/maintenance/lock?token=deadbeef");
        assertThat(badUnlock.status()).isEqualTo(wrongToken);
        badUnlock.errorMessage();
        assertThat(admin.send("DELETE", "/mvc/maintenance/lock").status()).isEqualTo(wrongToken);
        assertThat(sandbox.maintenance().isLocked()).isTrue();
        Http.Answer noTask = admin.send("POST", "/mvc/maintenance?token=deadbeef");
        assertThat(noTask.status()).isEqualTo(noLock);
        noTask.errorMessage();
      } finally {
        assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock).status()).isIn(202, 204);
      }
      assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock).status()).isEqualTo(noLock);
    }
  }

  /** A second lock: 409 by default, or 503 (both unverified). */
  @Test
  void aSecondLockIsRefused() {
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      for (int code : new int[] {409, 503}) {
        sandbox.knobs().secondLockStatus(code);
        Http.Answer second = admin.send("POST", "/mvc/maintenance/lock");
        assertThat(second.status()).isEqualTo(code);
        assertThat(second.errorMessage()).contains("locked");
      }
    } finally {
      admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock);
    }
  }

  /**
   * {@code GET /mvc/maintenance} without the token header: 404 when there is no lock (Bitbucket's maintenance page
   * takes that as "no maintenance"); while locked, readable by anyone (that page is served to every user) with the
   * drain states, no task and no token. A wrong token is still refused.
   */
  @Test
  void theStatusWithoutATokenIsReadableByAnyoneWhileLocked() {
    for (Http who : List.of(admin, user, anonymous)) {
      assertThat(who.send("GET", "/mvc/maintenance", null).status()).isEqualTo(404);
    }
    Duration minDrain = sandbox.knobs().minDrain();
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      sandbox.knobs().minDrain(Duration.ofMinutes(5));
      String cancel = admin.send("POST", "/mvc/admin/backups?external=true", unlock).json().get("cancelToken")
          .asText();
      for (Http who : List.of(admin, user, anonymous)) {
        Http.Answer draining = who.send("GET", "/mvc/maintenance", null);
        assertThat(draining.status()).isEqualTo(200);
        assertThat(draining.json().has("task")).isFalse();
        assertThat(draining.json().get("db-state").asText()).isEqualTo("DRAINING");
        assertThat(draining.json().get("scm-state").asText()).isEqualTo("DRAINING");
        assertThat(draining.body()).doesNotContain(unlock).doesNotContain(cancel);
      }
      sandbox.knobs().minDrain(Duration.ZERO);
      assertThat(anonymous.send("GET", "/mvc/maintenance", null).json().get("db-state").asText()).isEqualTo("DRAINED");
      JsonNode held = admin.send("GET", "/mvc/maintenance", unlock).json();
      assertThat(held.get("task").get("state").asText()).isEqualTo("RUNNING");
      assertThat(held.get("db-state").asText()).isEqualTo("DRAINED");
      Http.Answer wrongToken = admin.send("GET", "/mvc/maintenance", "deadbeef");
      assertThat(wrongToken.status()).isEqualTo(409);
      wrongToken.errorMessage();
    } finally {
      sandbox.knobs().minDrain(minDrain);
      assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock).status()).isIn(202, 204);
    }
    assertThat(admin.send("GET", "/mvc/maintenance", null).status()).isEqualTo(404);
  }

  @Test
  void rateLimitingAnswers429WithRetryAfterInSecondsOrAsADate() {
    for (boolean asDate : new boolean[] {false, true}) {
      admin.put("/rest/sandbox/1.0/knobs", "{\"rateLimit\":{\"capacity\":2,\"perSecond\":0.5,\"retryAfterAsDate\":"
          + asDate + "}}");
      assertThat(admin.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(200);
      assertThat(admin.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(200);
      Http.Answer limited = admin.send("GET", "/rest/api/1.0/projects");
      assertThat(limited.status()).isEqualTo(429);
      String retryAfter = limited.header("Retry-After");
      if (asDate) {
        assertThat(java.time.ZonedDateTime.parse(retryAfter, java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME))
            .isAfter(java.time.ZonedDateTime.now());
      } else {
        assertThat(Integer.parseInt(retryAfter)).isBetween(1, 2);
      }
      // Only requests with credentials are limited, and the bucket is the user's.
      assertThat(anonymous.send("GET", "/rest/api/1.0/application-properties").status()).isEqualTo(200);
      assertThat(user.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(200);
      sandbox.knobs().rateLimit(null);
    }
    assertThat(sandbox.rateLimitedRequests()).isGreaterThanOrEqualTo(2);
  }

  @Test
  void aCaptchaIsDemandedAfterRepeatedFailedLoginsEvenForTheRightPassword() {
    sandbox.knobs().captchaAfterFailures(2);
    int before = sandbox.failedLogins("admin");
    sandbox.clearCaptcha("admin");
    assertThat(wrong.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(401);
    assertThat(wrong.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(401);
    Http.Answer captcha = admin.send("GET", "/rest/api/1.0/projects");
    assertThat(captcha.status()).isEqualTo(401);
    assertThat(captcha.header("X-Authentication-Denied-Reason")).startsWith("CAPTCHA_CHALLENGE");
    assertThat(sandbox.failedLogins("admin")).isEqualTo(3);
    sandbox.clearCaptcha("admin");
    assertThat(admin.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(200);
    assertThat(before).isNotNegative();
  }

  @Test
  void aStartingNodeAProxyAndALoginGatewayAnswerForTheInstance() {
    sandbox.knobs().unavailable(SandboxKnobs.Unavailable.STARTING);
    assertThat(admin.send("GET", "/rest/api/1.0/application-properties").status()).isEqualTo(503);
    assertThat(anonymous.send("GET", "/status").json().get("state").asText()).isEqualTo("STARTING");
    sandbox.knobs().unavailable(SandboxKnobs.Unavailable.PROXY);
    Http.Answer proxy = anonymous.send("GET", "/status");
    assertThat(proxy.status()).isEqualTo(503);
    assertThat(proxy.body()).contains("<html>");
    sandbox.knobs().unavailable(null).loginRedirect(true);
    Http.Answer login = admin.send("GET", "/rest/api/1.0/admin/cluster");
    assertThat(login.status()).isEqualTo(302);
    assertThat(login.header("Location")).contains("samlsso");
    assertThat(anonymous.send("GET", "/status").status()).isEqualTo(200);
  }

  /** With TLS, the plain-http port redirects every path to https, as administrators set Bitbucket up. */
  @Test
  void thePlainPortOfATlsSandboxRedirectsToHttps() {
    if (!setup.tls()) {
      assertThat(sandbox.state().httpRedirectUrl()).isNull();
      return;
    }
    Http plain = new Http(sandbox.state().httpRedirectUrl(), "admin", sandbox.adminPassword(), null);
    Http.Answer r = plain.send("GET", "/rest/api/1.0/application-properties?x=1");
    assertThat(r.status()).isEqualTo(301);
    assertThat(r.header("Location")).isEqualTo(sandbox.baseUrl() + "/rest/api/1.0/application-properties?x=1");
    assertThat(sandbox.baseUrl()).startsWith("https://").endsWith("/bitbucket");
  }

  @Test
  void cancelEndsTheTaskButKeepsTheLock() {
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      String cancel = admin.send("POST", "/mvc/admin/backups?external=true", unlock).json().get("cancelToken")
          .asText();
      Http.Answer wrongCancel = admin.send("POST", "/mvc/maintenance?token=" + unlock);
      assertThat(wrongCancel.status()).isEqualTo(409);
      wrongCancel.errorMessage();
      assertThat(admin.send("POST", "/mvc/maintenance?token=" + cancel).status()).isIn(200, 202, 204);
      JsonNode s = admin.send("GET", "/mvc/maintenance", unlock).json();
      assertThat(s.get("task").get("state").asText()).isEqualTo("CANCELED");
      assertThat(sandbox.maintenance().isLocked()).isTrue();
      assertThat(admin.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(503);
    } finally {
      assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock).status()).isIn(202, 204);
    }
  }

  @Test
  void taskOutcomeKnobMakesTheInstanceGiveUp() {
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      admin.send("POST", "/mvc/admin/backups?external=true", unlock);
      assertThat(admin.put("/rest/sandbox/1.0/knobs", "{\"taskOutcome\":\"FAILED\"}").status()).isEqualTo(200);
      JsonNode s = admin.send("GET", "/mvc/maintenance", unlock).json();
      assertThat(s.get("task").get("state").asText()).isEqualTo("FAILED");
    } finally {
      admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock);
    }
  }

  @Test
  void everythingElseGets503WhileLocked() {
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      for (String path : List.of("/rest/api/1.0/projects", "/rest/api/latest/projects/PRJ/repos",
          "/rest/api/1.0/application-properties", "/rest/api/1.0/admin/cluster", "/",
          "/scm/prj/repo-1.git/info/refs?service=git-upload-pack")) {
        Http.Answer a = admin.send("GET", path);
        assertThat(a.status()).as(path).isEqualTo(503);
        assertThat(a.errorMessage()).contains("maintenance");
      }
      ProcessResult r = git.tryRun(dir, "ls-remote", sandbox.baseUrl() + "/scm/prj/repo-1.git");
      assertThat(r.exitCode()).isNotZero();
      assertThat(r.stderrTail()).contains("503");
    } finally {
      admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock);
    }
  }

  @Test
  void pushWhileLockedGets503AndChangesNothing() throws Exception {
    Path work = dir.resolve("push-" + setup.kind().optionValue() + (setup.tls() ? "-tls" : ""));
    git.run(dir, "clone", "-q", sandbox.baseUrl() + "/scm/prj/repo-4.git", work.toString());
    Files.writeString(work.resolve("locked.txt"), "locked\n");
    git.run(work, "add", "locked.txt");
    git.run(work, "commit", "-q", "-m", "while locked");
    List<SandboxDatabase.LedgerRow> before = sandbox.database().ledger();
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      ProcessResult r = git.tryRun(work, "push", "origin", "HEAD:refs/heads/while-locked");
      assertThat(r.exitCode()).isNotZero();
      assertThat(r.stderrTail()).contains("503");
    } finally {
      admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock);
    }
    assertThat(sandbox.database().ledger()).isEqualTo(before);
    assertThat(git.run(work, "ls-remote", "origin", "refs/heads/while-locked").stdout()).isEmpty();
    // Unlocked, the same push goes through and is recorded.
    git.run(work, "push", "-q", "origin", "HEAD:refs/heads/while-locked");
    assertThat(sandbox.database().ledger()).extracting(SandboxDatabase.LedgerRow::ref)
        .contains("refs/heads/while-locked");
  }

  @Test
  void restIsPagedLikeBitbucket() {
    JsonNode p = admin.send("GET", "/rest/api/1.0/projects").json();
    assertThat(p.get("size").asInt()).isEqualTo(2);
    assertThat(p.get("isLastPage").asBoolean()).isTrue();
    assertThat(p.get("values").get(0).get("key").asText()).isEqualTo("PRJ");
    assertThat(p.has("nextPageStart")).isFalse();

    JsonNode r = admin.send("GET", "/rest/api/latest/projects/PRJ/repos?limit=4&start=2").json();
    assertThat(r.get("size").asInt()).isEqualTo(4);
    assertThat(r.get("limit").asInt()).isEqualTo(4);
    assertThat(r.get("start").asInt()).isEqualTo(2);
    assertThat(r.get("isLastPage").asBoolean()).isFalse();
    assertThat(r.get("nextPageStart").asInt()).isEqualTo(6);
    assertThat(r.get("values").get(0).get("project").get("key").asText()).isEqualTo("PRJ");
    assertThat(r.get("values").get(0).get("links").get("clone").get(0).get("href").asText())
        .startsWith(sandbox.baseUrl() + "/scm/prj/");

    JsonNode last = admin.send("GET", "/rest/api/1.0/projects/PRJ/repos?start=8&limit=4").json();
    assertThat(last.get("size").asInt()).isEqualTo(2);
    assertThat(last.get("isLastPage").asBoolean()).isTrue();
    assertThat(anonymous.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(401);
    assertThat(admin.send("GET", "/rest/api/1.0/projects/NOPE/repos").status()).isEqualTo(404);
  }
}
