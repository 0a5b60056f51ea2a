package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.spi.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A prune killed halfway must never leave a half-deleted backup that still lists as complete. */
class PrunerTest {
  @TempDir Path root;

  private BackupStore store() {
    return new BackupStore(root);
  }

  private String complete(String tag, Instant at) throws Exception {
    store().write(
        new Manifest(
            Manifest.FORMAT, tag, Manifest.State.COMPLETE, "bb", "8.19.1", "test", Map.of(), Map.of(), at, at.plusSeconds(1),
            Map.of(), null, null, null, null, null, null, null, null, null, null));
    Files.createDirectories(root.resolve(tag).resolve("home/shared"));
    Files.writeString(root.resolve(tag).resolve("home/shared/bitbucket.properties"), "x");
    return tag;
  }

  @Test
  void aBackupLeavesTheListBeforeItsFilesAreDeletedAndTheNextPruneFinishesAnInterruptedRemoval() throws Exception {
    String old = complete("bb-20250101-000000", Instant.parse("2025-01-01T00:00:00Z"));
    String kept = complete("bb-20250102-000000", Instant.parse("2025-01-02T00:00:00Z"));

    // What a prune killed right after its rename leaves: the directory out of the list, its files still there.
    Path doomed = store().markRemoved(old);
    assertThat(doomed.getFileName().toString()).startsWith(".");
    assertThat(doomed.resolve(Manifest.FILE)).as("the manifest is still inside").exists();
    assertThat(store().list()).extracting(Manifest::tag).containsExactly(kept);

    Pruner.Result r = new Pruner(store()).prune(new Retention.Policy(1, 0, 0, 0), false, Progress.NONE);
    assertThat(r.removed()).isEmpty();
    assertThat(doomed).doesNotExist();
    assertThat(store().list()).extracting(Manifest::tag).containsExactly(kept);
  }

  @Test
  void pruningRemovesWhatThePolicyDropsAndLeavesNoWorkingDirectory() throws Exception {
    complete("bb-20250101-000000", Instant.parse("2025-01-01T00:00:00Z"));
    String kept = complete("bb-20250102-000000", Instant.parse("2025-01-02T00:00:00Z"));
    Pruner.Result r = new Pruner(store()).prune(new Retention.Policy(1, 0, 0, 0), false, Progress.NONE);
    assertThat(r.removed()).containsExactly("bb-20250101-000000");
    try (var s = Files.list(root)) {
      assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly(kept);
    }
  }

  /**
   * "Newest" is decided by comparing tags as strings, and a tag starts with the instance name. After instance.name
   * is changed (or with two names under one backup.root) the newest backup by time is not the greatest tag: keep
   * last 1 then deletes the backup just taken and keeps an older one.
   */
  @Test
  void theNewestCompleteBackupIsKeptWhateverTheInstanceNameOfOlderOnes() throws Exception {
    String older = complete("zeta-20250101-000000", Instant.parse("2025-01-01T00:00:00Z"));
    String newest = complete("alpha-20250301-000000", Instant.parse("2025-03-01T00:00:00Z"));

    Pruner.Result r = new Pruner(store()).prune(new Retention.Policy(1, 0, 0, 0), false, Progress.NONE);

    assertThat(r.removed()).containsExactly(older);
    assertThat(store().latestComplete()).map(Manifest::tag).contains(newest);
  }
}
