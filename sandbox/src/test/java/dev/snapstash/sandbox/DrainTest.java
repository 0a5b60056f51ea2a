package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.db.SandboxDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A push in flight at lock time completes fully (refs and ledger row) before DRAINED; new pushes get 503. On each
 * database kind: the ledger row is written in the push's transaction, which DRAINED must wait for.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(DbKind.class)
class DrainTest {
  @RegisterExtension static final DatabaseServers servers = new DatabaseServers();
  @TempDir static Path dir;
  static RunningSandbox sandbox;
  static Path work;

  @Parameter DbKind kind;

  @BeforeParameterizedClassInvocation
  static void start(DbKind kind) {
    Tools.requireGit();
    work = dir.resolve(kind.optionValue());
    sandbox = RunningSandbox.start(servers.on(kind, SandboxOptions.defaults(work.resolve("sb")).withPort(0)),
        new ProcessRunner());
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    if (sandbox != null) {
      sandbox.close();
      sandbox = null;
    }
  }

  @Test
  void slowPushInFlightAtLockTimeDelaysDrainedAndCompletesFully() throws Exception {
    GitClient git = new GitClient("admin", sandbox.adminPassword());
    Http admin = new Http(sandbox.baseUrl(), "admin", sandbox.adminPassword());
    String url = sandbox.baseUrl() + "/scm/prj/repo-2.git";
    Path a = work.resolve("a");
    Path b = work.resolve("b");
    git.run(work, "clone", "-q", url, a.toString());
    git.run(work, "clone", "-q", url, b.toString());
    Files.writeString(a.resolve("slow.txt"), "slow\n");
    git.run(a, "add", "slow.txt");
    git.run(a, "commit", "-q", "-m", "slow");
    String sha = git.run(a, "rev-parse", "HEAD").stdout().strip();
    Files.writeString(b.resolve("late.txt"), "late\n");
    git.run(b, "add", "late.txt");
    git.run(b, "commit", "-q", "-m", "late");

    sandbox.knobs().preReceiveDelay(Duration.ofSeconds(3)).minDrain(Duration.ZERO);
    CompletableFuture<ProcessResult> push =
        CompletableFuture.supplyAsync(() -> git.tryRun(a, "push", "origin", "HEAD:refs/heads/drain/slow"));
    await().atMost(Duration.ofSeconds(20)).until(() -> sandbox.pushesInFlight() == 1);

    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    try {
      long lockedAt = System.nanoTime();
      admin.send("POST", "/mvc/admin/backups?external=true", unlock);
      JsonNode first = admin.send("GET", "/mvc/maintenance", unlock).json();
      assertThat(first.get("scm-state").asText()).isEqualTo("DRAINING");
      assertThat(first.get("db-state").asText()).isEqualTo("DRAINING");

      ProcessResult late = git.tryRun(b, "push", "origin", "HEAD:refs/heads/drain/late");
      assertThat(late.exitCode()).isNotZero();
      assertThat(late.stderrTail()).contains("503");

      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(25)).until(() -> {
        JsonNode s = admin.send("GET", "/mvc/maintenance", unlock).json();
        return s.get("scm-state").asText().equals("DRAINED") && s.get("db-state").asText().equals("DRAINED");
      });
      assertThat(Duration.ofNanos(System.nanoTime() - lockedAt)).isGreaterThan(Duration.ofSeconds(1));

      // Drained: what a backup copies now must agree: the slow push is on disk and in the ledger, the late one
      // in neither.
      List<SandboxDatabase.LedgerRow> ledger = sandbox.database().ledger();
      assertThat(ledger).anySatisfy(r -> {
        assertThat(r.ref()).isEqualTo("refs/heads/drain/slow");
        assertThat(r.newSha()).isEqualTo(sha);
      });
      assertThat(ledger).noneSatisfy(r -> assertThat(r.ref()).isEqualTo("refs/heads/drain/late"));
      String refs = new ProcessRunner().run(Command.of("git", "--git-dir=" + sandbox.layout().repository(2),
          "for-each-ref", "--format=%(objectname) %(refname)").capturingStdout()).stdout();
      assertThat(refs).contains(sha + " refs/heads/drain/slow").doesNotContain("drain/late");
    } finally {
      sandbox.knobs().preReceiveDelay(Duration.ZERO);
      admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock);
    }
    assertThat(push.get().exitCode()).as(push.get().stderrTail()).isZero();
  }
}
