package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.spi.Artifact;
import dev.snapstash.core.spi.CopyResult;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The manifests of a run, assembled from what it measured: pure, so each figure is checked on its own. */
class BackupManifestsTest {
  private static final BackupEngine.Settings SETTINGS =
      new BackupEngine.Settings("bb", Path.of("/home"), new BackupStore(Path.of("/backups")), new Retention.Policy(0, 0, 0, 0), false, 0, "1.2.3");
  private static final Instant START = Instant.parse("2026-01-01T02:00:00Z");

  private static Manifest started() {
    return BackupManifests.started("bb-20260101-020000", START, SETTINGS, "bitbucket", "rsync", "postgresql", "8.19.1", List.of());
  }

  @Test
  void theStartedManifestNamesTheStrategiesAndIsInProgress() {
    Manifest m = started();
    assertThat(m.state()).isEqualTo(Manifest.State.IN_PROGRESS);
    assertThat(m.strategies()).containsExactly(Map.entry("quiesce", "bitbucket"), Map.entry("disk", "rsync"), Map.entry("database", "postgresql"));
    assertThat(m.snapstashVersion()).isEqualTo("1.2.3");
    assertThat(m.bitbucketVersion()).isEqualTo("8.19.1");
    assertThat(m.nodes()).as("no nodes: left out").isNull();
  }

  @Test
  void theCompleteManifestPlacesTheLockWindowBeforeTheUnlockAndCountsWhatTheHomeWrote() {
    CopyResult home =
        new CopyResult("rsync", 1000, 10, 300, List.of(new Artifact("home.sha256", 5, "ab")),
            Map.of("rsync-version", "3.2.7", "bytes-written", "120"));
    CopyResult db = new CopyResult("postgresql", 500, 1, 500, List.of(), Map.of("pg_dump-version", "15.4"));
    Instant unlocked = START.plusSeconds(30);
    Manifest m =
        BackupManifests.complete(
            started(),
            new BackupManifests.Outcome(home, db, Map.of("total", 40_000L), Duration.ofMillis(1500), unlocked, 800, null),
            START.plusSeconds(40));
    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    assertThat(m.lockWindowMillis()).isEqualTo(1500L);
    assertThat(m.lockedAt()).isEqualTo(unlocked.minusMillis(1500));
    assertThat(m.unlockedAt()).isEqualTo(unlocked);
    assertThat(m.bytesUnderLock()).isEqualTo(800L);
    assertThat(m.home().bytesWritten()).as("the figure the home's walk reported").isEqualTo(120);
    assertThat(m.database().bytesWritten()).as("a database is written whole").isEqualTo(500);
    assertThat(m.tools()).containsEntry("rsync", "3.2.7").containsEntry("postgresql", "15.4");
    assertThat(m.finishedAt()).isEqualTo(START.plusSeconds(40));
  }

  @Test
  void withoutALockTheManifestHasNoWindowAndAHomeWithoutAFigureCountsItsSize() {
    CopyResult home = new CopyResult("none", 0, 0, 0, List.of(), Map.of());
    CopyResult db = new CopyResult("none", 0, 0, 0, List.of(), Map.of());
    Manifest m =
        BackupManifests.complete(
            started(), new BackupManifests.Outcome(home, db, Map.of(), null, null, 0, null), START.plusSeconds(1));
    assertThat(m.lockWindowMillis()).isNull();
    assertThat(m.lockedAt()).isNull();
    assertThat(m.unlockedAt()).isNull();
    assertThat(m.home().bytesWritten()).isZero();
  }
}
