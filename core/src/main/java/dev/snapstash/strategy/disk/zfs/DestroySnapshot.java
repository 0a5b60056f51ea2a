package dev.snapstash.strategy.disk.zfs;

import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;

/**
 * A ZFS snapshot made for a backup that did not complete: journal name {@code destroy-zfs-snapshot}. It carries the
 * zfs command it was made with, so that {@code recover} destroys it with the same one, whatever the configuration
 * says by then.
 *
 * @param binary the {@code zfs} command ({@code disk.zfs.binary})
 * @param snapshot the snapshot's full name, {@code dataset@name}
 */
public record DestroySnapshot(String binary, String snapshot) implements Undo {
  @Override
  public int order() {
    return DELETE;
  }

  @Override
  public String describe() {
    return "destroy the zfs snapshot " + snapshot;
  }

  @Override
  public void undo(Services services) {
    ZfsDiskStrategy.destroySnapshot(binary, snapshot, services.runner());
  }
}
