package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.testing.Packs;
import dev.snapstash.testing.Tools;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code git fsck} as verify runs it, on real repositories: connectivity-only does not read blobs, so only the full
 * fsck of {@code verify --deep} finds a blob damaged inside a pack; and the full fsck keeps to its budget.
 */
class ConsistencyIT {
  @TempDir Path tmp;
  private final ProcessRunner runner = new ProcessRunner();
  private final Consistency consistency = new Consistency(runner, new Random(1));

  @BeforeAll
  static void git() {
    Tools.require("git");
  }

  @Test
  void aBlobDamagedInsideItsPackPassesConnectivityOnlyAndFailsTheFullFsck() throws Exception {
    Path damaged = repository("damaged", 3);
    Path good = repository("good", 2);
    Packs.flipAByteInsideABlob(damaged, runner);

    assertThat(consistency.fsck(List.of(damaged), 1, true).ok())
        .as("connectivity-only reads no blob, so it cannot see the damage")
        .isTrue();

    Consistency.FullFsck full = consistency.fullFsck(List.of(damaged, good), Duration.ofMinutes(5));
    assertThat(full.checked()).containsExactly(damaged, good);
    assertThat(full.notChecked()).isEmpty();
    assertThat(full.budgetExhausted()).isFalse();
    assertThat(full.damaged()).containsOnlyKeys(damaged);
    assertThat(full.damaged().get(damaged)).startsWith("error:");
    VerifyEngine.Check check = full.check();
    assertThat(check.ok()).isFalse();
    assertThat(check.detail())
        .startsWith("1 damaged: damaged (damaged: error:")
        .endsWith("; full fsck of 2 of 2 repositories, every object read");

    Consistency.FullFsck clean = consistency.fullFsck(List.of(good), Duration.ofMinutes(5));
    assertThat(clean.check().ok()).isTrue();
    assertThat(clean.check().detail()).isEqualTo("full fsck of 1 of 1 repositories, every object read");
  }

  /** A budget already spent starts nothing: every repository is reported as not checked, none as damaged. */
  @Test
  void noFsckStartsOnceTheBudgetIsSpent() throws Exception {
    Path a = repository("a", 1);
    Path b = repository("b", 1);
    Consistency.FullFsck full = consistency.fullFsck(List.of(a, b), Duration.ofNanos(1));
    assertThat(full.checked()).isEmpty();
    assertThat(full.notChecked()).containsExactly(a, b);
    assertThat(full.damaged()).isEmpty();
    assertThat(full.check().ok()).as("a budget that runs out is not a failure").isTrue();
    assertThat(full.check().detail())
        .isEqualTo("full fsck of 0 of 2 repositories within the budget of PT0.000000001S; the rest not checked");
  }

  /**
   * A repository whose full fsck takes far longer than the budget (256 MiB of object data to inflate and hash) is
   * stopped when the budget runs out, with its process, and counted as not checked.
   */
  @Test
  void aRunningFsckIsStoppedWhenTheBudgetRunsOut() throws Exception {
    Path big = repository("big", 1);
    Path blob = tmp.resolve("zeros");
    try (RandomAccessFile f = new RandomAccessFile(blob.toFile(), "rw")) {
      f.setLength(256L << 20);
    }
    String sha =
        runner.run(Command.of("git", "--git-dir=" + big, "hash-object", "-w", blob.toString()).capturingStdout()).stdout().strip();
    String tree =
        runner.run(Command.of("git", "--git-dir=" + big, "mktree").stdinFrom(write("tree", "100644 blob " + sha + "\tzeros\n")).capturingStdout())
            .stdout().strip();
    String commit =
        runner.run(Command.of("git", "--git-dir=" + big, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit-tree", tree, "-m", "big")
            .capturingStdout()).stdout().strip();
    runner.run(Command.of("git", "--git-dir=" + big, "update-ref", "refs/heads/big", commit));
    Path small = repository("small", 1);

    long t0 = System.nanoTime();
    Consistency.FullFsck full = consistency.fullFsck(List.of(big, small), Duration.ofMillis(300));
    Duration took = Duration.ofNanos(System.nanoTime() - t0);

    assertThat(full.notChecked()).as("stopped after %s", took).contains(big);
    assertThat(full.damaged()).isEmpty();
    assertThat(full.budgetExhausted()).isTrue();
    assertThat(full.check().ok()).isTrue();
    assertThat(full.check().detail())
        .matches("full fsck of [01] of 2 repositories within the budget of 300ms; the rest not checked");
    assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
            .map(h -> h.info().commandLine().orElse("")).filter(c -> c.contains("fsck")))
        .as("the stopped fsck leaves no process behind")
        .isEmpty();
    // The same repository, given the time, is whole: what stopped it was the budget, not damage.
    assertThat(consistency.fullFsck(List.of(big), Duration.ofMinutes(10)).check().ok()).isTrue();
  }

  /** A bare repository with {@code commits} commits of random text, packed by {@code git gc}. */
  private Path repository(String name, int commits) throws Exception {
    Path work = tmp.resolve("work-" + name);
    Path bare = tmp.resolve(name);
    runner.run(Command.of("git", "init", "-q", "-b", "main", work.toString()));
    Random random = new Random(name.hashCode());
    for (int i = 0; i < commits; i++) {
      StringBuilder text = new StringBuilder();
      for (int line = 0; line < 400; line++) {
        text.append(Long.toHexString(random.nextLong())).append(Long.toHexString(random.nextLong())).append('\n');
      }
      Files.writeString(work.resolve("file" + i + ".txt"), text);
      runner.run(Command.of("git", "-C", work.toString(), "add", "."));
      runner.run(Command.of("git", "-C", work.toString(), "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "c" + i));
    }
    runner.run(Command.of("git", "clone", "-q", "--bare", work.toString(), bare.toString()));
    runner.run(Command.of("git", "--git-dir=" + bare, "gc", "-q"));
    return bare;
  }

  private Path write(String name, String content) throws Exception {
    Path p = tmp.resolve(name);
    Files.writeString(p, content);
    return p;
  }
}
