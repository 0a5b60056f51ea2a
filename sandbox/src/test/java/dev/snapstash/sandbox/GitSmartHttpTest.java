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
  void gzipRequestBodyIsServed() throws Exception {
    String head = new ProcessRunner().run(dev.snapstash.core.process.Command.of("git",
        "--git-dir=" + sandbox.layout().repository(1), "rev-parse", "refs/heads/main").capturingStdout())
        .stdout().strip();
    String want = "want " + head + "\n";
    String body = String.format("%04x", want.length() + 4) + want + "0000" + "0009done\n";
    java.io.ByteArrayOutputStream gz = new java.io.ByteArrayOutputStream();
    try (java.util.zip.GZIPOutputStream out = new java.util.zip.GZIPOutputStream(gz)) {
      out.write(body.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }
    java.net.http.HttpResponse<byte[]> r = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create(url("prj/repo-1") + "/git-upload-pack"))
            .header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(
                ("admin:" + sandbox.adminPassword()).getBytes(java.nio.charset.StandardCharsets.UTF_8)))
            .header("Content-Type", "application/x-git-upload-pack-request")
            .header("Content-Encoding", "gzip")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(gz.toByteArray())).build(),
        java.net.http.HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).contains("application/x-git-upload-pack-result");
    assertThat(new String(r.body(), java.nio.charset.StandardCharsets.ISO_8859_1)).contains("NAK").contains("PACK");
  }

  @Test
  void fetchWithManyHavesUsesAGzipBodyAndWorks() throws Exception {
    Path a = dir.resolve("haves-a");
    Path b = dir.resolve("haves-b");
    admin.run(dir, "clone", "-q", url("prj/repo-3"), a.toString());
    admin.run(dir, "clone", "-q", url("prj/repo-3"), b.toString());
    for (int i = 0; i < 40; i++) {
      admin.run(a, "commit", "-q", "--allow-empty", "-m", "local " + i);
    }
    admin.run(b, "commit", "-q", "--allow-empty", "-m", "remote");
    admin.run(b, "push", "-q", "origin", "HEAD:refs/heads/haves");
    // More than 1 KiB of "have" lines: git gzips the request body.
    admin.run(a, "fetch", "-q", "origin", "refs/heads/haves:refs/remotes/origin/haves");
    assertThat(admin.run(a, "rev-parse", "origin/haves").stdout().strip())
        .isEqualTo(admin.run(b, "rev-parse", "HEAD").stdout().strip());
  }

  @Test
  void wrongPasswordIsRefused() {
    ProcessResult r = new GitClient("admin", "wrong").tryRun(dir, "ls-remote", url("prj/repo-1"));
    assertThat(r.exitCode()).isNotZero();
    // git answers a 401 by asking for credentials, which GIT_TERMINAL_PROMPT=0 turns into a failure.
    assertThat(r.stderrTail()).containsAnyOf("401", "terminal prompts disabled", "Authentication failed");
  }
}
