package dev.snapstash.strategy.archive.tar;

import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.UndoLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * One archive of a backup directory by the {@code tar} strategy, as a backup makes it: {@code ArchiveBench DIR DEST
 * LEVEL [RECIPIENT]}. Prints the archive's size in bytes. Run by {@code bench/archive}, which times the process.
 */
public final class ArchiveBench {
  private ArchiveBench() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path dest = Path.of(args[1]);
    int level = Integer.parseInt(args[2]);
    List<String> recipients = args.length > 3 ? List.of(args[3]) : List.of();
    ArchiveStrategy tar = new TarProvider().create(new TarSettings(dest, level, 0, recipients, null), null);
    String tag = dir.getFileName().toString();
    ArchiveStrategy.Stored stored = tar.store(new ArchiveStrategy.Source(tag, dir, Instant.now()), UndoLog.NONE);
    System.out.println(stored.bytes());
    Files.delete(Path.of(stored.location()));
    Files.delete(Path.of(stored.location() + ".sha256"));
  }
}
