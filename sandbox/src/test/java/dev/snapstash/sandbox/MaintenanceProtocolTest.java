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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every row and error case of the table in bitbucket-protocol.md, over real HTTP, on each database kind: every call
 * authenticates against the users table, paging is SQL, and draining waits for database transactions.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(DbKind.class)
class MaintenanceProtocolTest {
  @RegisterExtension static final DatabaseServers servers = new DatabaseServers();
  @TempDir static Path dir;
  static RunningSandbox sandbox;
  static Http admin;
  static Http user;
  static Http wrong;
  static Http anonymous;

  @Parameter DbKind kind;

  @BeforeParameterizedClassInvocation
  static void start(DbKind kind) {
    Tools.requireGit();
    sandbox = RunningSandbox.start(servers.on(kind,
        SandboxOptions.defaults(dir.resolve("sb-" + kind.optionValue())).withPort(0).withContent(12, 2, 2, 1)),
        new ProcessRunner());
    admin = new Http(sandbox.baseUrl(), "admin", sandbox.adminPassword());
    user = new Http(sandbox.baseUrl(), "user", sandbox.userPassword());
    wrong = new Http(sandbox.baseUrl(), "admin", "not-the-password");
    anonymous = new Http(sandbox.baseUrl(), null, null);
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
    sandbox.knobs().taskOutcome(null);
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
      Http.Answer second = admin.send("POST", "/mvc/maintenance/lock");
      assertThat(second.status()).isEqualTo(409);
      assertThat(second.errorMessage()).contains("locked");

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
      assertThat(badToken.status()).isIn(401, 403, 409);
      badToken.errorMessage();
    } finally {
      assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock).status()).isIn(202, 204);
    }
    assertThat(sandbox.maintenance().task().orElseThrow().state()).isEqualTo("SUCCESSFUL");
    assertThat(admin.send("GET", "/rest/api/1.0/projects").status()).isEqualTo(200);
  }

  @Test
  void credentialsAndPermissionAreChecked() {
    for (String path : List.of("/mvc/maintenance/lock")) {
      Http.Answer w = wrong.send("POST", path);
      assertThat(w.status()).isEqualTo(401);
      w.errorMessage();
      Http.Answer a = anonymous.send("POST", path);
      assertThat(a.status()).isEqualTo(401);
      Http.Answer u = user.send("POST", path);
      assertThat(u.status()).isEqualTo(403);
      assertThat(u.errorMessage()).contains("permitted");
    }
    assertThat(user.send("GET", "/mvc/maintenance", "x").status()).isEqualTo(403);
    assertThat(user.send("DELETE", "/mvc/maintenance/lock?token=x").status()).isEqualTo(403);
    assertThat(user.send("POST", "/mvc/admin/backups?external=true", "x").status()).isEqualTo(403);
    assertThat(sandbox.maintenance().isLocked()).isFalse();
  }

  @Test
  void tokensAreChecked() {
    Http.Answer notLocked = admin.send("POST", "/mvc/admin/backups?external=true", "deadbeef");
    assertThat(notLocked.status()).isEqualTo(409);
    notLocked.errorMessage();
    assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=deadbeef").status()).isEqualTo(409);
    assertThat(admin.send("GET", "/mvc/maintenance", "deadbeef").status()).isEqualTo(409);

    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      Http.Answer missing = admin.send("POST", "/mvc/admin/backups?external=true", null);
      assertThat(missing.status()).isIn(401, 403, 409);
      missing.errorMessage();
      Http.Answer wrongToken = admin.send("POST", "/mvc/admin/backups?external=true", "deadbeef");
      assertThat(wrongToken.status()).isIn(401, 403, 409);
      wrongToken.errorMessage();
      // Without a token an administrator only observes (states, no task); a wrong token is refused.
      assertThat(admin.send("GET", "/mvc/maintenance", null).status()).isEqualTo(200);
      assertThat(admin.send("GET", "/mvc/maintenance", "deadbeef").status()).isIn(401, 403, 409);
      Http.Answer badUnlock = admin.send("DELETE", "/mvc/maintenance/lock?token=deadbeef");
      assertThat(badUnlock.status()).isIn(401, 403, 409);
      badUnlock.errorMessage();
      assertThat(admin.send("DELETE", "/mvc/maintenance/lock").status()).isIn(401, 403, 409);
      assertThat(sandbox.maintenance().isLocked()).isTrue();
      Http.Answer noTask = admin.send("POST", "/mvc/maintenance?token=deadbeef");
      assertThat(noTask.status()).isIn(401, 403, 409);
      noTask.errorMessage();
    } finally {
      assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock).status()).isIn(202, 204);
    }
    assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock).status()).isEqualTo(409);
  }

  /**
   * {@code GET /mvc/maintenance} as an administrator without the token header observes: 200 with the states and no
   * task (how a client checks its credentials, or sees someone else's lock, without locking). A wrong token, a
   * non-administrator and a wrong password are still refused.
   */
  @Test
  void administratorWithoutTokenObservesTheStates() {
    Http.Answer free = admin.send("GET", "/mvc/maintenance", null);
    assertThat(free.status()).isEqualTo(200);
    assertThat(free.json().has("task")).isFalse();
    assertThat(free.json().get("db-state").asText()).isEqualTo("AVAILABLE");
    assertThat(free.json().get("scm-state").asText()).isEqualTo("AVAILABLE");
    assertThat(user.send("GET", "/mvc/maintenance", null).status()).isEqualTo(403);
    assertThat(wrong.send("GET", "/mvc/maintenance", null).status()).isEqualTo(401);
    assertThat(anonymous.send("GET", "/mvc/maintenance", null).status()).isEqualTo(401);

    Duration minDrain = sandbox.knobs().minDrain();
    // Someone else locks: the observer never sees their token.
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      sandbox.knobs().minDrain(Duration.ofMinutes(5));
      String cancel = admin.send("POST", "/mvc/admin/backups?external=true", unlock).json().get("cancelToken")
          .asText();
      Http.Answer draining = admin.send("GET", "/mvc/maintenance", null);
      assertThat(draining.status()).isEqualTo(200);
      assertThat(draining.json().has("task")).isFalse();
      assertThat(draining.json().get("db-state").asText()).isEqualTo("DRAINING");
      assertThat(draining.json().get("scm-state").asText()).isEqualTo("DRAINING");
      assertThat(draining.body()).doesNotContain(unlock).doesNotContain(cancel);

      sandbox.knobs().minDrain(Duration.ZERO);
      Http.Answer drained = admin.send("GET", "/mvc/maintenance", null);
      assertThat(drained.status()).isEqualTo(200);
      assertThat(drained.json().has("task")).isFalse();
      assertThat(drained.json().get("db-state").asText()).isEqualTo("DRAINED");
      assertThat(drained.json().get("scm-state").asText()).isEqualTo("DRAINED");
      // The holder sees the same states, with its task.
      JsonNode held = admin.send("GET", "/mvc/maintenance", unlock).json();
      assertThat(held.get("task").get("state").asText()).isEqualTo("RUNNING");
      assertThat(held.get("db-state").asText()).isEqualTo("DRAINED");

      Http.Answer wrongToken = admin.send("GET", "/mvc/maintenance", "deadbeef");
      assertThat(wrongToken.status()).isEqualTo(403);
      wrongToken.errorMessage();
      assertThat(user.send("GET", "/mvc/maintenance", null).status()).isEqualTo(403);
      assertThat(user.send("GET", "/mvc/maintenance", unlock).status()).isEqualTo(403);
      assertThat(wrong.send("GET", "/mvc/maintenance", null).status()).isEqualTo(401);
      assertThat(sandbox.maintenance().isLocked()).isTrue();
    } finally {
      sandbox.knobs().minDrain(minDrain);
      assertThat(admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock).status()).isIn(202, 204);
    }
    assertThat(admin.send("GET", "/mvc/maintenance", null).json().get("db-state").asText()).isEqualTo("AVAILABLE");
  }

  @Test
  void cancelEndsTheTaskButKeepsTheLock() {
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      String cancel = admin.send("POST", "/mvc/admin/backups?external=true", unlock).json().get("cancelToken")
          .asText();
      Http.Answer wrongCancel = admin.send("POST", "/mvc/maintenance?token=" + unlock);
      assertThat(wrongCancel.status()).isIn(401, 403, 409);
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
          "/rest/api/1.0/application-properties", "/", "/scm/prj/repo-1.git/info/refs?service=git-upload-pack")) {
        Http.Answer a = admin.send("GET", path);
        assertThat(a.status()).as(path).isEqualTo(503);
        assertThat(a.errorMessage()).contains("maintenance");
      }
      ProcessResult r = new GitClient("admin", sandbox.adminPassword())
          .tryRun(dir, "ls-remote", sandbox.baseUrl() + "/scm/prj/repo-1.git");
      assertThat(r.exitCode()).isNotZero();
      assertThat(r.stderrTail()).contains("503");
    } finally {
      admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock);
    }
  }

  @Test
  void pushWhileLockedGets503AndChangesNothing() throws Exception {
    GitClient git = new GitClient("admin", sandbox.adminPassword());
    Path work = dir.resolve("push-" + kind.optionValue());
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
