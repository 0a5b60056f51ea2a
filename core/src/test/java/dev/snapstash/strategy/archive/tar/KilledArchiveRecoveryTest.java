package dev.snapstash.strategy.archive.tar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.engine.RecoverEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed while it wrote an archive leaves its temporary file, maybe the checksum, and the journaled step;
 * {@code snapstash recover} replays the step by its journal name and removes them, and never a complete archive.
 */
class KilledArchiveRecoveryTest {
  @TempDir Path tmp;

  @Test
  void recoverRemovesWhatAKilledArchiveLeft() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("backups"));
    Path dest = Files.createDirectories(tmp.resolve("offsite"));
    Path partial = Files.writeString(dest.resolve(".partial-bb-20261207-010000.tar.zst"), "half an archive");
    Path sum = Files.writeString(dest.resolve("bb-20261207-010000.tar.zst.sha256"), "0".repeat(64) + "  x\n");
    Path complete = Files.writeString(dest.resolve("bb-20261206-010000.tar.zst"), "a whole one");
    Path completeSum = Files.writeString(dest.resolve("bb-20261206-010000.tar.zst.sha256"), "1".repeat(64) + "  x\n");
    // As the engine journals a copy, and as a SIGKILL leaves it: no "done".
    Journal journal = Journal.begin(root, "archive offsite", "bb-20261207-010000");
    journal.add(new RemovePartialArchive(partial, sum, dest.resolve("bb-20261207-010000.tar.zst")));
    journal.add(new RemovePartialArchive(
        dest.resolve(".partial-bb-20261206-010000.tar.zst"), completeSum, complete));
    journal.close();

    RecoverEngine.Report report = new RecoverEngine(new BackupStore(root), null, List.of(), Clock.systemUTC()).recover();

    assertThat(report.failed()).isEmpty();
    assertThat(report.undone()).hasSize(2);
    assertThat(partial).doesNotExist();
    assertThat(sum).doesNotExist();
    assertThat(complete).exists();
    assertThat(completeSum).exists();
    assertThat(Journal.file(root)).doesNotExist();
  }
}
