package dev.snapstash.strategy.database;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.spi.Artifact;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link DatabaseStrategy} guarantees, {@code none} included. Strategies that really copy a database
 * run {@link DumpingDatabaseStrategyContract} as well.
 */
public abstract class DatabaseStrategyContract {
  @TempDir protected Path tmp;
  protected final List<String> progressLines = new CopyOnWriteArrayList<>();

  /** The strategy under test, configured against a working source (with some content, where that applies). */
  protected abstract DatabaseStrategy strategy() throws Exception;

  protected BackupContext backupContext(String name) {
    Path dir = tmp.resolve("backups").resolve(name);
    Progress progress = (phase, fraction, detail) -> progressLines.add(phase + " " + fraction + " " + detail);
    return new BackupContext("test-" + name, dir, Optional.empty(), progress);
  }

  protected RestoreContext restoreContext(BackupContext backup, Path homeTarget, boolean force) {
    return new RestoreContext(backup.tag(), backup.backupDir(), homeTarget, force, Progress.NONE);
  }

  @Test
  void checkFindsNoProblemWhenConfiguredRight() throws Exception {
    Findings f = new Findings();
    strategy().check(f);
    assertThat(f.problems()).isEmpty();
    assertThat(f.all()).isNotEmpty();
  }

  @Test
  void backupNamesItselfAndEveryArtifactMatchesItsFile() throws Exception {
    DatabaseStrategy s = strategy();
    BackupContext ctx = backupContext("artifacts");
    CopyResult r = s.backup(ctx);
    assertThat(r.strategy()).isEqualTo(s.name());
    for (Artifact a : r.artifacts()) {
      Path f = ctx.backupDir().resolve(a.path());
      assertThat(f).as(a.path()).isRegularFile();
      assertThat(f.normalize()).startsWith(ctx.databaseDir());
      assertThat(Files.size(f)).isEqualTo(a.bytes());
      assertThat(dev.snapstash.core.util.Digests.sha256(f)).isEqualTo(a.sha256());
    }
    assertThat(r.bytes()).isEqualTo(r.artifacts().stream().mapToLong(Artifact::bytes).sum());
  }

  @Test
  void verifyOfAFreshBackupFindsNoProblem() throws Exception {
    DatabaseStrategy s = strategy();
    BackupContext ctx = backupContext("verify");
    s.backup(ctx);
    Findings f = new Findings();
    s.verify(restoreContext(ctx, tmp.resolve("nowhere"), false), f);
    assertThat(f.problems()).isEmpty();
  }

  @Test
  void cleanupIncompleteIsSafeWhenBackupNeverRanAndIdempotent() throws Exception {
    DatabaseStrategy s = strategy();
    BackupContext ctx = backupContext("cleanup");
    s.cleanupIncomplete(ctx);
    s.backup(ctx);
    s.cleanupIncomplete(ctx);
    s.cleanupIncomplete(ctx);
    assertThat(ctx.databaseDir()).doesNotExist();
  }
}
