package dev.snapstash.strategy.disk.rsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real rsync against a temporary home. */
class RsyncDiskStrategyTest {
  @TempDir Path tmp;

  /**
   * A push between the pre-copy and the lock rewrites a ref file in place with the same size, and on a coarse
   * timestamp clock with the same modification time: the quick check alone keeps the stale ref.
   */
  @Test
  void aRefRewrittenWithTheSameSizeAndTimeAfterThePreCopyIsStillCaught() throws Exception {
    Path home = tmp.resolve("home");
    Path ref = home.resolve("shared/data/repositories/1/refs/heads/main");
    Files.createDirectories(ref.getParent());
    Files.createDirectories(home.resolve("shared/data/repositories/1/objects"));
    Files.writeString(home.resolve("shared/data/repositories/1/HEAD"), "ref: refs/heads/main\n");
    String before = "a".repeat(40) + "\n";
    String after = "b".repeat(40) + "\n";
    Files.writeString(ref, before);
    FileTime stamp = Files.getLastModifiedTime(ref);

    RsyncDiskStrategy rsync = new RsyncDiskStrategy(home, List.of(), true, true, true, new ProcessRunner());
    BackupContext ctx = new BackupContext("t", tmp.resolve("backup"), Optional.empty(), Progress.NONE);
    rsync.prepareBackup(ctx);

    Files.writeString(ref, after);
    Files.setLastModifiedTime(ref, stamp);
    rsync.backup(ctx);

    assertThat(ctx.homeDir().resolve("shared/data/repositories/1/refs/heads/main")).hasContent(after.strip());
  }

  @Test
  void filesDeletedBetweenPreCopyAndLockAreDeletedFromTheBackup() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("shared"));
    Files.writeString(home.resolve("shared/gone"), "x");
    RsyncDiskStrategy rsync = new RsyncDiskStrategy(home, List.of(), true, true, true, new ProcessRunner());
    BackupContext ctx = new BackupContext("t", tmp.resolve("backup"), Optional.empty(), Progress.NONE);
    rsync.prepareBackup(ctx);
    Files.delete(home.resolve("shared/gone"));
    rsync.backup(ctx);
    assertThat(ctx.homeDir().resolve("shared/gone")).doesNotExist();
  }
}
