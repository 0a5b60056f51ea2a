package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.db.SandboxDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GitSmartHttpTest {
  @TempDir static Path dir;
  static RunningSandbox sandbox;
  static GitClient admin;

  @BeforeAll
  static void start() {
    Tools.requireGit();
    sandbox = RunningSandbox.start(SandboxOptions.defaults(dir.resolve("sb")).withPort(0), new ProcessRunner());
    admin = new GitClient("admin", sandbox.adminPassword());
  }

  @AfterAll
  static void stop() {
    if (sandbox != null) {
      sandbox.close();
    }
  }

  String url(String repo) {
    return sandbox.baseUrl() + "/scm/" + repo + ".git";
  }

  @Test
  void cloneAndPushRecordsTheLedgerRowAfterTheRefIsOnDisk() throws Exception {
    Path work = dir.resolve("clone1");
    admin.run(dir, "clone", "-q", url("prj/repo-1"), work.toString());
    assertThat(work.resolve(".git")).isDirectory();
    Files.writeString(work.resolve("hello.txt"), "hello\n");
    admin.run(work, "add", "hello.txt");
    admin.run(work, "commit", "-q", "-m", "hello");
    String sha = admin.run(work, "rev-parse", "HEAD").stdout().strip();
    admin.run(work, "push", "-q", "origin", "HEAD:refs/heads/feature/x");

    List<SandboxDatabase.LedgerRow> ledger = sandbox.database().ledger();
    assertThat(ledger).anySatisfy(r -> {
      assertThat(r.ref()).isEqualTo("refs/heads/feature/x");
      assertThat(r.newSha()).isEqualTo(sha);
      assertThat(r.oldSha()).isEqualTo("0000000000000000000000000000000000000000");
    });
    Path bare = sandbox.layout().repository(1);
    String onDisk = new ProcessRunner().run(
        dev.snapstash.core.process.Command.of("git", "--git-dir=" + bare, "rev-parse", "refs/heads/feature/x")
            .capturingStdout()).stdout().strip();
    assertThat(onDisk).isEqualTo(sha);
  }

  @Test
  void wrongPasswordIsRefused() {
    ProcessResult r = new GitClient("admin", "wrong").tryRun(dir, "ls-remote", url("prj/repo-1"));
    assertThat(r.exitCode()).isNotZero();
    // git answers a 401 by asking for credentials, which GIT_TERMINAL_PROMPT=0 turns into a failure.
    assertThat(r.stderrTail()).containsAnyOf("401", "terminal prompts disabled", "Authentication failed");
  }
}
