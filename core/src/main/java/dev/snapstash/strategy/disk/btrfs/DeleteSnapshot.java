package dev.snapstash.strategy.disk.btrfs;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.nio.file.Path;

/**
 * A read-only snapshot of the home made for a backup that did not complete: journal name {@code delete-snapshot}.
 *
 * @param kind {@value BtrfsDiskStrategy#SNAPSHOT_KIND}, as journals have always written it
 * @param id the snapshot's path
 */
public record DeleteSnapshot(String kind, String id) implements Undo {
  public DeleteSnapshot(Path snapshot) {
    this(BtrfsDiskStrategy.SNAPSHOT_KIND, snapshot.toString());
  }

  @Override
  public int order() {
    return DELETE;
  }

  @Override
  public String describe() {
    return "delete " + kind + " " + id;
  }

  @Override
  public void undo(Services services) {
    if (!kind.equals(BtrfsDiskStrategy.SNAPSHOT_KIND)) {
      throw SnapstashException.internal("no way to delete a snapshot of kind " + kind, null);
    }
    BtrfsDiskStrategy.deleteSnapshot(Path.of(id), services.runner());
  }
}
