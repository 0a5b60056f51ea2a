package dev.snapstash.strategy.disk.zfs;

import dev.snapstash.core.config.Rules;
import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import dev.snapstash.core.spi.Undo;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/** {@code disk.type: zfs}. */
public final class ZfsProvider implements Provider<ZfsSettings, DiskStrategy> {
  @Override
  public StrategyKind kind() {
    return StrategyKind.DISK;
  }

  @Override
  public String name() {
    return "zfs";
  }

  @Override
  public String summary() {
    return "a ZFS snapshot of the home's dataset under the lock, copied into the backup with rsync after the unlock"
        + " (untested on a real pool)";
  }

  @Override
  public Class<ZfsSettings> settingsType() {
    return ZfsSettings.class;
  }

  @Override
  public DiskStrategy create(ZfsSettings s, Services services) {
    return new ZfsDiskStrategy(
        s, services.instance().home(),
        services.peer(StrategyKind.DATABASE).contains(Capability.OWNS_EMBEDDED_DATABASE_FILES), services.runner());
  }

  @Override
  public Map<String, UnaryOperator<Object>> rules() {
    return Map.of(
        "dataset", rule(ZfsSettings::datasetProblem),
        "snapshot-prefix", rule(ZfsSettings::prefixProblem),
        "keep-snapshots", Rules.atLeast(0));
  }

  @Override
  public Map<String, Class<? extends Undo>> undoTypes() {
    return Map.of("destroy-zfs-snapshot", DestroySnapshot.class);
  }

  private static UnaryOperator<Object> rule(Function<String, Optional<String>> problem) {
    return v -> {
      problem.apply((String) v).ifPresent(p -> {
        throw new IllegalArgumentException(p);
      });
      return v;
    };
  }
}
