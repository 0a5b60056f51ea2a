package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.db.SandboxDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The answers of the sandbox's HTTP surface that the protocol suites do not reach: the knobs resource, the pages
 * outside the REST API, the single project and repository resources, wrong methods and paths in each area, and a
 * push whose recording fails. They pin what the sandbox answers, so that its handler can be reshaped safely.
 */
class HttpSurfaceTest {
  @TempDir static Path dir;
  static RunningSandbox sandbox;
  static Http admin;
  static Http user;
  static Http anonymous;
  static GitClient git;

  @BeforeAll
  static void start() {
    Tools.requireGit();
    sandbox = RunningSandbox.start(SandboxOptions.defaults(dir.resolve("sb")).withPort(0).withContent(4, 2, 2, 1),
        new ProcessRunner());
    admin = new Http(sandbox.baseUrl(), "admin", sandbox.adminPassword());
    user = new Http(sandbox.baseUrl(), "user", sandbox.userPassword());
    anonymous = new Http(sandbox.baseUrl(), null, null);
    git = new GitClient("admin", sandbox.adminPassword());
  }

  @AfterAll
  static void stop() {
    if (sandbox != null) {
      sandbox.close();
    }
  }

  @AfterEach
  void resetKnobs() {
    sandbox.knobs().preReceiveDelay(Duration.ZERO).minDrain(Duration.ofMillis(200)).taskOutcome(null)
        .noSuchLockStatus(404).wrongTokenStatus(409).permissionDeniedStatus(401).secondLockStatus(409)
        .statusCodeInMaintenance(503).captchaAfterFailures(0).unavailable(null).rateLimit(null).loginRedirect(false);
  }

  static String exceptionName(Http.Answer a) {
    a.errorMessage();
    return a.json().get("errors").get(0).get("exceptionName").asText();
  }

  @Test
  void knobsAreReadAndSetByAnAdministratorEvenWhenTheInstanceIsUnavailable() {
    Http.Answer read = admin.send("GET", "/rest/sandbox/1.0/knobs");
    assertThat(read.status()).isEqualTo(200);
    assertThat(read.header("Content-Type")).isEqualTo("application/json;charset=UTF-8");
    List<String> fields = new ArrayList<>();
    read.json().fieldNames().forEachRemaining(fields::add);
    assertThat(fields.subList(0, 15)).containsExactly("preReceiveDelayMs", "minDrainMs", "taskOutcome",
        "noSuchLockStatus", "wrongTokenStatus", "permissionDeniedStatus", "secondLockStatus",
        "statusCodeInMaintenance", "captchaAfterFailures", "unavailable", "loginRedirect", "rateLimit",
        "rateLimitedRequests", "locked", "inFlight");
    assertThat(read.json().get("minDrainMs").asLong()).isEqualTo(200);
    assertThat(read.json().get("taskOutcome").isNull()).isTrue();
    assertThat(read.json().get("locked").asBoolean()).isFalse();

    Http.Answer set = admin.put("/rest/sandbox/1.0/knobs", "{\"preReceiveDelayMs\":5,\"minDrainMs\":7,"
        + "\"taskOutcome\":\"FAILED\",\"noSuchLockStatus\":409,\"wrongTokenStatus\":403,\"permissionDeniedStatus\":403,"
        + "\"secondLockStatus\":503,\"statusCodeInMaintenance\":200,\"captchaAfterFailures\":9,"
        + "\"unavailable\":\"PROXY\",\"loginRedirect\":true,"
        + "\"rateLimit\":{\"capacity\":50,\"perSecond\":2.5,\"retryAfterAsDate\":true}}");
    assertThat(set.status()).isEqualTo(200);
    JsonNode j = set.json();
    assertThat(j.get("preReceiveDelayMs").asLong()).isEqualTo(5);
    assertThat(j.get("minDrainMs").asLong()).isEqualTo(7);
    assertThat(j.get("taskOutcome").asText()).isEqualTo("FAILED");
    assertThat(j.get("noSuchLockStatus").asInt()).isEqualTo(409);
    assertThat(j.get("wrongTokenStatus").asInt()).isEqualTo(403);
    assertThat(j.get("permissionDeniedStatus").asInt()).isEqualTo(403);
    assertThat(j.get("secondLockStatus").asInt()).isEqualTo(503);
    assertThat(j.get("statusCodeInMaintenance").asInt()).isEqualTo(200);
    assertThat(j.get("captchaAfterFailures").asInt()).isEqualTo(9);
    assertThat(j.get("unavailable").asText()).isEqualTo("PROXY");
    assertThat(j.get("loginRedirect").asBoolean()).isTrue();
    assertThat(j.get("rateLimit").get("capacity").asInt()).isEqualTo(50);
    assertThat(j.get("rateLimit").get("perSecond").asDouble()).isEqualTo(2.5);
    assertThat(j.get("rateLimit").get("retryAfterAsDate").asBoolean()).isTrue();
    assertThat(sandbox.knobs().preReceiveDelay()).isEqualTo(Duration.ofMillis(5));
    assertThat(sandbox.knobs().unavailable()).isEqualTo(SandboxKnobs.Unavailable.PROXY);

    // The knobs come before the proxy, the login gateway and the rate limit: a test can always turn them off.
    Http.Answer off = admin.put("/rest/sandbox/1.0/knobs",
        "{\"unavailable\":null,\"taskOutcome\":null,\"rateLimit\":null,\"loginRedirect\":false}");
    assertThat(off.status()).isEqualTo(200);
    assertThat(off.json().get("unavailable").isNull()).isTrue();
    assertThat(off.json().get("rateLimit").isNull()).isTrue();
    assertThat(sandbox.knobs().rateLimit()).isNull();
    assertThat(sandbox.knobs().loginRedirect()).isFalse();
    assertThat(admin.send("POST", "/rest/sandbox/1.0/knobs").status()).isEqualTo(200);
  }

  @Test
  void knobsAreRefusedToOrdinaryUsersAndAnonymousCallers() {
    Http.Answer u = user.send("GET", "/rest/sandbox/1.0/knobs");
    assertThat(u.status()).isEqualTo(401);
    assertThat(exceptionName(u)).isEqualTo("com.atlassian.bitbucket.AuthorisationException");
    Http.Answer a = anonymous.send("GET", "/rest/sandbox/1.0/knobs");
    assertThat(a.status()).isEqualTo(401);
    assertThat(a.header("WWW-Authenticate")).isEqualTo("Basic realm=\"Atlassian Bitbucket\"");
    assertThat(exceptionName(a)).isEqualTo("com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException");
  }

  @Test
  void theRootPageAndUnknownPaths() {
    Http.Answer root = anonymous.send("GET", "/");
    assertThat(root.status()).isEqualTo(200);
    assertThat(root.header("Content-Type")).isEqualTo("text/html;charset=UTF-8");
    assertThat(root.body()).contains("<title>Bitbucket</title>").contains("Version 8.19.1");
    Http.Answer nothing = anonymous.send("GET", "/nothing");
    assertThat(nothing.status()).isEqualTo(404);
    assertThat(nothing.errorMessage()).isEqualTo("Not found: /nothing");
    assertThat(exceptionName(nothing)).isEqualTo("com.atlassian.bitbucket.NoSuchResourceException");
    assertThat(anonymous.send("POST", "/").status()).isEqualTo(404);
    // An unknown REST resource asks for credentials first, then is not found.
    assertThat(anonymous.send("GET", "/rest/api/1.0/nothing").status()).isEqualTo(401);
    Http.Answer unknown = admin.send("GET", "/rest/api/1.0/nothing");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.errorMessage()).isEqualTo("Not found: /rest/api/1.0/nothing");
    assertThat(admin.send("GET", "/rest/api/2.0/projects").status()).isEqualTo(404);
  }

  @Test
  void restServesOnlyGetAndRefusesOtherMethodsBeforeAskingForCredentials() {
    for (String method : List.of("POST", "PUT", "DELETE")) {
      Http.Answer a = anonymous.send(method, "/rest/api/1.0/projects");
      assertThat(a.status()).as(method).isEqualTo(405);
      assertThat(a.errorMessage()).isEqualTo("Method " + method + " is not supported here.");
      assertThat(exceptionName(a)).isEqualTo("com.atlassian.bitbucket.rest.MethodNotAllowedException");
    }
    assertThat(admin.send("POST", "/rest/api/1.0/application-properties").status()).isEqualTo(405);
  }

  @Test
  void oneProjectAndOneRepository() {
    Http.Answer p = user.send("GET", "/rest/api/1.0/projects/PRJ");
    assertThat(p.status()).isEqualTo(200);
    assertThat(p.header("Content-Type")).isEqualTo("application/json;charset=UTF-8");
    assertThat(p.json().get("key").asText()).isEqualTo("PRJ");
    assertThat(p.json().get("type").asText()).isEqualTo("NORMAL");
    assertThat(p.json().get("public").asBoolean()).isFalse();
    assertThat(p.json().get("links").get("self").get(0).get("href").asText())
        .isEqualTo(sandbox.baseUrl() + "/projects/PRJ");
    Http.Answer np = user.send("GET", "/rest/api/1.0/projects/NOPE");
    assertThat(np.status()).isEqualTo(404);
    assertThat(np.errorMessage()).isEqualTo("Project NOPE does not exist.");
    assertThat(exceptionName(np)).isEqualTo("com.atlassian.bitbucket.project.NoSuchProjectException");

    Http.Answer r = user.send("GET", "/rest/api/latest/projects/PRJ/repos/repo-1");
    assertThat(r.status()).isEqualTo(200);
    JsonNode rj = r.json();
    assertThat(rj.get("slug").asText()).isEqualTo("repo-1");
    assertThat(rj.get("scmId").asText()).isEqualTo("git");
    assertThat(rj.get("state").asText()).isEqualTo("AVAILABLE");
    assertThat(rj.get("hierarchyId").asText()).isEqualTo(Long.toHexString(0x5a5a0000L + rj.get("id").asLong()));
    assertThat(rj.get("project").get("key").asText()).isEqualTo("PRJ");
    assertThat(rj.get("links").get("clone").get(0).get("href").asText())
        .isEqualTo(sandbox.baseUrl() + "/scm/prj/repo-1.git");
    assertThat(rj.get("links").get("clone").get(0).get("name").asText()).isEqualTo("http");
    assertThat(rj.get("links").get("self").get(0).get("href").asText())
        .isEqualTo(sandbox.baseUrl() + "/projects/PRJ/repos/repo-1/browse");
    Http.Answer nr = user.send("GET", "/rest/api/1.0/projects/PRJ/repos/nope");
    assertThat(nr.status()).isEqualTo(404);
    assertThat(nr.errorMessage()).isEqualTo("Repository PRJ/nope does not exist.");
    assertThat(exceptionName(nr)).isEqualTo("com.atlassian.bitbucket.repository.NoSuchRepositoryException");
  }

  /** The collection resources took their path apart at slashes, so trailing ones are ignored; exact ones are exact. */
  @Test
  void trailingSlashes() {
    assertThat(admin.send("GET", "/rest/api/1.0/projects/").json().get("size").asInt()).isPositive();
    assertThat(admin.send("GET", "/rest/api/1.0/projects/PRJ/").json().get("key").asText()).isEqualTo("PRJ");
    assertThat(admin.send("GET", "/rest/api/1.0/projects/PRJ/repos/").json().has("values")).isTrue();
    assertThat(admin.send("GET", "/rest/api/1.0/projects/PRJ/repos/repo-1/").json().get("slug").asText())
        .isEqualTo("repo-1");
    assertThat(admin.send("GET", "/rest/api/1.0/projects/PRJ/repos/repo-1/x").status()).isEqualTo(404);
    assertThat(anonymous.send("GET", "/rest/api/1.0/application-properties/").status()).isEqualTo(401);
    assertThat(admin.send("GET", "/rest/api/1.0/application-properties/").status()).isEqualTo(404);
    assertThat(admin.send("GET", "/rest/api/1.0/admin/cluster/").status()).isEqualTo(404);
    assertThat(user.send("GET", "/rest/api/1.0/admin/cluster/").status()).isEqualTo(404);
  }

  @Test
  void statusAndAStartingNodeAndTheLoginGateway() {
    Http.Answer running = anonymous.send("GET", "/status");
    assertThat(running.header("Content-Type")).isEqualTo("application/json;charset=UTF-8");
    assertThat(running.body()).isEqualTo("{\"state\":\"RUNNING\"}");
    sandbox.knobs().unavailable(SandboxKnobs.Unavailable.STARTING);
    Http.Answer starting = anonymous.send("GET", "/status");
    assertThat(starting.status()).isEqualTo(503);
    assertThat(starting.body()).isEqualTo("{\"state\":\"STARTING\"}");
    Http.Answer page = admin.send("GET", "/rest/api/1.0/projects");
    assertThat(page.status()).isEqualTo(503);
    assertThat(page.header("Content-Type")).isEqualTo("text/html;charset=UTF-8");
    assertThat(page.body()).contains("Bitbucket is starting up");
    sandbox.knobs().unavailable(SandboxKnobs.Unavailable.PROXY);
    assertThat(admin.send("GET", "/mvc/maintenance").body()).contains("nginx");
    sandbox.knobs().unavailable(null).loginRedirect(true);
    Http.Answer login = anonymous.send("GET", "/rest/api/1.0/projects");
    assertThat(login.status()).isEqualTo(302);
    assertThat(login.header("Location"))
        .isEqualTo(sandbox.baseUrl() + "/plugins/servlet/samlsso?redirectTo=%2Frest%2Fapi%2F1.0%2Fprojects");
  }

  @Test
  void maintenanceResourcesThatDoNotExist() {
    Http.Answer a = admin.send("GET", "/mvc/nothing");
    assertThat(a.status()).isEqualTo(404);
    assertThat(a.errorMessage()).isEqualTo("No maintenance resource at GET /mvc/nothing.");
    assertThat(exceptionName(a)).isEqualTo("com.atlassian.bitbucket.NoSuchResourceException");
    assertThat(admin.send("PUT", "/mvc/maintenance/lock").status()).isEqualTo(404);
    assertThat(anonymous.send("GET", "/mvc/nothing").status()).isEqualTo(401);
    Http.Answer external = admin.send("POST", "/mvc/admin/backups");
    assertThat(external.status()).isEqualTo(400);
    assertThat(external.errorMessage()).isEqualTo("Only external backups (?external=true) are supported.");
  }

  @Test
  void gitPathsThatAreNotRepositories() {
    Http.Answer noRepo = admin.send("GET", "/scm/prj/nope.git/info/refs?service=git-upload-pack");
    assertThat(noRepo.status()).isEqualTo(404);
    assertThat(noRepo.errorMessage()).isEqualTo("Repository prj/nope does not exist.");
    assertThat(exceptionName(noRepo)).isEqualTo("com.atlassian.bitbucket.repository.NoSuchRepositoryException");
    Http.Answer notAPath = admin.send("GET", "/scm/prj");
    assertThat(notAPath.status()).isEqualTo(404);
    assertThat(notAPath.errorMessage()).isEqualTo("Not a repository path: /scm/prj");
    Http.Answer anon = anonymous.send("GET", "/scm/prj/repo-1.git/info/refs?service=git-upload-pack");
    assertThat(anon.status()).isEqualTo(401);
    assertThat(anon.header("WWW-Authenticate")).isEqualTo("Basic realm=\"Atlassian Bitbucket\"");
    Http.Answer refs = admin.send("GET", "/scm/prj/repo-1.git/info/refs?service=git-upload-pack");
    assertThat(refs.status()).isEqualTo(200);
    assertThat(refs.header("Content-Type")).isEqualTo("application/x-git-upload-pack-advertisement");
  }

  /** A push the database cannot record is undone on disk and answered 500, so the client knows it failed. */
  @Test
  void aPushThatCannotBeRecordedIsUndone() throws Exception {
    Path work = dir.resolve("unrecorded");
    git.run(dir, "clone", "-q", sandbox.baseUrl() + "/scm/prj/repo-2.git", work.toString());
    Files.writeString(work.resolve("lost.txt"), "lost\n");
    git.run(work, "add", "lost.txt");
    git.run(work, "commit", "-q", "-m", "cannot be recorded");
    List<SandboxDatabase.LedgerRow> before = sandbox.database().ledger();
    rename("push_ledger", "push_ledger_away");
    ProcessResult r;
    try {
      r = git.tryRun(work, "push", "origin", "HEAD:refs/heads/unrecorded");
    } finally {
      rename("push_ledger_away", "push_ledger");
    }
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.stderrTail()).contains("500");
    assertThat(sandbox.database().ledger()).isEqualTo(before);
    ProcessResult onDisk = new ProcessRunner().runAllowingFailure(Command.of("git",
        "--git-dir=" + sandbox.layout().repository(2), "rev-parse", "--verify", "-q", "refs/heads/unrecorded")
        .capturingStdout(), l -> {});
    assertThat(onDisk.exitCode()).isNotZero();
    // Recording works again: the same push goes through.
    git.run(work, "push", "-q", "origin", "HEAD:refs/heads/unrecorded");
    assertThat(sandbox.database().ledger()).extracting(SandboxDatabase.LedgerRow::ref)
        .contains("refs/heads/unrecorded");
  }

  private static void rename(String from, String to) {
    sandbox.database().inTransaction(c -> {
      try (java.sql.Statement s = c.createStatement()) {
        s.execute("ALTER TABLE " + from + " RENAME TO " + to);
      }
      return null;
    });
  }
}
