package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.load.LoadGenerator;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Every push the load generator saw acknowledged is in the ledger table and on disk, across a lock, on each database kind. */
@ParameterizedClass(name = "on {0}")
@EnumSource(DbKind.class)
class LoadGeneratorTest {
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
  void aLaterRunContinuesTheBranchesAnEarlierRunLeft() {
    for (int run = 1; run <= 2; run++) {
      LoadGenerator.Options o = new LoadGenerator.Options(sandbox.baseUrl(), "admin", sandbox.adminPassword(), 1,
          Duration.ofSeconds(30), 2, work.resolve("again-" + run + ".jsonl"), work.resolve("again"));
      LoadGenerator.Result r = new LoadGenerator(new ProcessRunner(), Clock.systemUTC()).run(o);
      assertThat(r.pushes()).as("run %d", run).isEqualTo(2);
      assertThat(r.failed()).as("run %d: no push refused as a non-fast-forward", run).isZero();
    }
  }

  @Test
  void everyAcknowledgedPushIsInTheDatabaseAndOnDiskEvenAcrossALock() throws Exception {
    Path ledger = work.resolve("ledger.jsonl");
    LoadGenerator.Options o = new LoadGenerator.Options(sandbox.baseUrl(), "admin", sandbox.adminPassword(), 3,
        Duration.ofSeconds(6), 10_000, ledger, work.resolve("clients"));
    CompletableFuture<LoadGenerator.Result> run =
        CompletableFuture.supplyAsync(() -> new LoadGenerator(new ProcessRunner(), Clock.systemUTC()).run(o));
    Http admin = new Http(sandbox.baseUrl(), "admin", sandbox.adminPassword());
    Thread.sleep(2500);
    String unlock = admin.send("POST", "/mvc/maintenance/lock").json().get("unlockToken").asText();
    Thread.sleep(1500);
    admin.send("DELETE", "/mvc/maintenance/lock?token=" + unlock);
    LoadGenerator.Result r = run.get();

    assertThat(r.pushes()).isPositive();
    assertThat(r.refused()).isPositive();
    List<Map<String, String>> lines = LoadGenerator.readLedger(ledger);
    assertThat(lines).hasSize(r.pushes());

    Map<Long, String> paths = new HashMap<>();
    sandbox.database().allRepositories().forEach(x -> paths.put(x.id(), x.path()));
    List<SandboxDatabase.LedgerRow> server = sandbox.database().ledger();
    Map<String, String> lastByRef = new LinkedHashMap<>();
    for (Map<String, String> l : lines) {
      assertThat(server).as(l.toString()).anySatisfy(row -> {
        assertThat(paths.get(row.repositoryId())).isEqualTo(l.get("repo"));
        assertThat(row.ref()).isEqualTo(l.get("ref"));
        assertThat(row.newSha()).isEqualTo(l.get("sha"));
      });
      lastByRef.put(l.get("repo") + " " + l.get("ref"), l.get("sha"));
    }
    for (SandboxDatabase.Repository repo : sandbox.database().allRepositories()) {
      String refs = new ProcessRunner().run(Command.of("git", "--git-dir=" + sandbox.layout().repository(repo.id()),
          "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/load").capturingStdout()).stdout();
      lastByRef.forEach((k, sha) -> {
        if (k.startsWith(repo.path() + " ")) {
          assertThat(refs).contains(sha + " " + k.substring(k.indexOf(' ') + 1));
        }
      });
    }
  }
}
