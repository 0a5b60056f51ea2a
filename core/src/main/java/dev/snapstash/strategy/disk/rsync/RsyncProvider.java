package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.config.Rules;
import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import java.util.Map;
import java.util.function.UnaryOperator;

/** {@code disk.type: rsync}. */
public final class RsyncProvider implements Provider<RsyncSettings, DiskStrategy> {
  @Override
  public StrategyKind kind() {
    return StrategyKind.DISK;
  }

  @Override
  public String name() {
    return "rsync";
  }

  @Override
  public String summary() {
    return "a two-phase copy with hard-linked incrementals: live before the lock, the delta under it";
  }

  @Override
  public Class<RsyncSettings> settingsType() {
    return RsyncSettings.class;
  }

  @Override
  public DiskStrategy create(RsyncSettings s, Services services) {
    return new RsyncDiskStrategy(
        services.instance().home(), s.excludes(),
        services.peer(StrategyKind.DATABASE).contains(Capability.OWNS_EMBEDDED_DATABASE_FILES), s.linkDest(),
        s.btrfsClones(), s.preCopy(), s.trackChanges(), s.parallel(), services.runner());
  }

  @Override
  public Map<String, UnaryOperator<Object>> rules() {
    return Map.of("parallel", Rules.between(1, 16));
  }
}
