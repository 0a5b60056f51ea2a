package dev.snapstash.strategy.disk.btrfs;

import dev.snapstash.core.config.Rules;
import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import dev.snapstash.core.spi.Undo;
import java.util.Map;
import java.util.function.UnaryOperator;

/** {@code disk.type: btrfs}. */
public final class BtrfsProvider implements Provider<BtrfsSettings, DiskStrategy> {
  @Override
  public StrategyKind kind() {
    return StrategyKind.DISK;
  }

  @Override
  public String name() {
    return "btrfs";
  }

  @Override
  public String summary() {
    return "a read-only snapshot of the home subvolume under the lock, copied into the backup after the unlock";
  }

  @Override
  public Class<BtrfsSettings> settingsType() {
    return BtrfsSettings.class;
  }

  @Override
  public DiskStrategy create(BtrfsSettings s, Services services) {
    return new BtrfsDiskStrategy(
        s, services.instance().home(), services.backup().root(),
        services.peer(StrategyKind.DATABASE).contains(Capability.OWNS_EMBEDDED_DATABASE_FILES), services.runner());
  }

  @Override
  public Map<String, UnaryOperator<Object>> rules() {
    return Map.of("transfer", Rules.oneOf("auto", "send", "rsync"), "keep-snapshots", Rules.atLeast(1));
  }

  @Override
  public Map<String, Class<? extends Undo>> undoTypes() {
    return Map.of("delete-snapshot", DeleteSnapshot.class);
  }
}
