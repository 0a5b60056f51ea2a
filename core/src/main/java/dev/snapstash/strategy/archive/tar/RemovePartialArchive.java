package dev.snapstash.strategy.archive.tar;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An archive being written: its temporary file, and the checksum file written before the archive's rename (so that
 * a complete archive never lacks one). Undoing removes the temporary file, and the checksum file unless the archive
 * it describes was completed; never a complete archive.
 *
 * @param partial the temporary file the archive is written to
 * @param checksum the {@code <archive>.sha256} beside the final name
 * @param archive the final name, made by one rename once the archive is whole and on disk
 */
public record RemovePartialArchive(Path partial, Path checksum, Path archive) implements Undo {
  public static final String NAME = "remove-partial-archive";

  @Override
  public int order() {
    return DELETE;
  }

  @Override
  public String describe() {
    return "remove the partial archive " + partial;
  }

  @Override
  public void undo(Services services) {
    try {
      Files.deleteIfExists(partial);
      Files.deleteIfExists(checksum.resolveSibling(checksum.getFileName() + ".partial"));
      if (!Files.exists(archive)) {
        Files.deleteIfExists(checksum);
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot remove the partial archive " + partial + ": " + e.getMessage(), e);
    }
  }
}
