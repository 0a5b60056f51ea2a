package dev.snapstash.strategy.database;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.spi.Artifact;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.FileModes;
import dev.snapstash.testing.Tools;
import dev.snapstash.testing.Umask;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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

  /**
   * A dump holds users, e-mail addresses and token hashes: whatever the strategy or the tool it runs writes is its
   * owner's only, though the tool writes with the process umask (the usual 022 here, as from a login shell).
   */
  @Test
  void everythingTheBackupWritesIsItsOwnersOnlyWhateverTheUmask() throws Exception {
    DatabaseStrategy s = strategy();
    BackupContext ctx = backupContext("modes");
    try (Umask u = Umask.set(022)) {
      s.backup(ctx);
    }
    assertModes(ctx.backupDir(), "rwx------", "rw-------", null);
  }

  /** With backup.group, the group may read the dump (0750/0640), even under a umask that would take its bits away. */
  @Test
  void withAGroupTheDumpIsReadableByThatGroupOnly() throws Exception {
    Tools.requireThat(Umask.root(tmp), "giving files to any group (chgrp) needs root");
    DatabaseStrategy s = strategy();
    BackupContext plain = backupContext("group");
    BackupContext ctx =
        new BackupContext(plain.tag(), plain.backupDir(), plain.previous(), plain.progress(), plain.undo(), FileModes.of("4242"));
    try (Umask u = Umask.set(077)) {
      s.backup(ctx);
    }
    assertModes(ctx.databaseDir(), "rwxr-x---", "rw-r-----", 4242);
  }

  private static void assertModes(Path dir, String directoryMode, String fileMode, Integer gid) throws Exception {
    if (!Files.exists(dir)) {
      return; // wrote nothing
    }
    try (var all = Files.walk(dir)) {
      for (Path p : all.toList()) {
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
        assertThat(mode).as(p.toString()).isEqualTo(Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? directoryMode : fileMode);
        if (gid != null) {
          assertThat(Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS)).as(p.toString()).isEqualTo(gid);
        }
      }
    }
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

  /** The engine's path: prepared before the lock, captured under it, finished after the unlock, the run closed. */
  @Test
  void aRunPreparedCapturedAndFinishedCopiesAsABackupDoes() throws Exception {
    DatabaseStrategy s = strategy();
    BackupContext ctx = backupContext("run");
    CopyResult r;
    try (DatabaseStrategy.Run run = s.prepareBackup(ctx);
        DatabaseStrategy.Pending pending = run.capture(ctx)) {
      r = pending.finish();
    }
    assertThat(r.strategy()).isEqualTo(s.name());
    for (Artifact a : r.artifacts()) {
      Path f = ctx.backupDir().resolve(a.path());
      assertThat(f).as(a.path()).isRegularFile();
      assertThat(dev.snapstash.core.util.Digests.sha256(f)).isEqualTo(a.sha256());
    }
    Findings f = new Findings();
    s.verify(restoreContext(ctx, tmp.resolve("nowhere"), false), f);
    assertThat(f.problems()).isEmpty();
  }

  /** A backup that fails between its preparation and the lock: the run's close, twice, and the clean-up leave nothing. */
  @Test
  void aRunClosedBeforeItsCaptureLeavesNothing() throws Exception {
    DatabaseStrategy s = strategy();
    BackupContext ctx = backupContext("closed-run");
    DatabaseStrategy.Run run = s.prepareBackup(ctx);
    run.close();
    run.close();
    s.cleanupIncomplete(ctx);
    assertThat(ctx.databaseDir()).doesNotExist();
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
