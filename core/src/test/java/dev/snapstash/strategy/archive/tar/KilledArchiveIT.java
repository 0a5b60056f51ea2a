package dev.snapstash.strategy.archive.tar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.spi.ArchiveStrategy;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real SIGKILL while an archive is written, in a JVM of its own journaling as the engine does: the partial file
 * and the journal are left, nothing is listed, and {@code recover} removes the partial file and the journal.
 */
class KilledArchiveIT {
  private static final String TAG = "bb-20261207-010000";
  @TempDir Path tmp;

  /** The child: {@code ROOT DEST SOURCE}; journals and stores as {@code Archives} does, until it is killed. */
  public static void main(String[] args) {
    Path root = Path.of(args[0]);
    Journal journal = Journal.begin(root, "archive offsite", TAG);
    new TarProvider()
        .create(new TarSettings(Path.of(args[1]), 19, 1, List.of(), null), null)
        .store(new ArchiveStrategy.Source(TAG, Path.of(args[2]), Instant.now()), journal);
    journal.finish();
  }

  @Test
  void aKilledArchiveLeavesItsJournalAndRecoverRemovesThePartialFile() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("backups"));
    Path dest = Files.createDirectories(tmp.resolve("offsite"));
    Path source = Files.createDirectories(tmp.resolve(TAG));
    byte[] chunk = new byte[1 << 20];
    Random random = new Random(1);
    try (OutputStream out = Files.newOutputStream(source.resolve("database.dump"))) {
      for (int i = 0; i < 256; i++) { // level 19 on one worker: far longer than the wait below
        random.nextBytes(chunk);
        out.write(chunk);
      }
    }
    Path partial = dest.resolve(TarArchiveStrategy.PARTIAL_PREFIX + TAG + TarArchiveStrategy.PLAIN);
    Process child = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
            KilledArchiveIT.class.getName(), root.toString(), dest.toString(), source.toString())
        .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!(Files.exists(partial) && Files.size(partial) > (1 << 20))) {
        assertThat(child.isAlive()).as("the child ended early: %s", Files.readString(tmp.resolve("child.log"))).isTrue();
        assertThat(System.nanoTime()).as("no partial archive grew within 60 s").isLessThan(deadline);
        Thread.sleep(20);
      }
    } finally {
      child.destroyForcibly(); // SIGKILL: no clean-up of its own
      child.waitFor(30, TimeUnit.SECONDS);
    }

    assertThat(partial).exists();
    assertThat(Journal.file(root)).exists();
    ArchiveStrategy tar = new TarProvider().create(new TarSettings(dest, 3, 1, List.of(), null), null);
    assertThat(tar.list()).isEmpty();

    RecoverEngine.Report report = new RecoverEngine(new BackupStore(root), null, List.of(), Clock.systemUTC()).recover();

    assertThat(report.failed()).isEmpty();
    assertThat(report.undone()).singleElement().asString().contains(partial.toString());
    try (var left = Files.list(dest)) {
      assertThat(left).isEmpty();
    }
    assertThat(Journal.file(root)).doesNotExist();
  }
}
