package dev.snapstash.strategy.quiesce.none;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Services;
import dev.snapstash.strategy.quiesce.QuiescerContract;
import java.util.Map;
import java.util.Set;

/** Zero-downtime mode holds nothing, journals nothing, and leaves recover nothing to do. */
class NoQuiescerContractTest extends QuiescerContract {
  private SnapstashConfig config() {
    return config("", "quiesce: {type: none}\n", Map.of());
  }

  @Override
  protected Quiescer quiescer() {
    SnapstashConfig c = config();
    return fromConfig(c, servicesOf(c));
  }

  @Override
  protected Services services() {
    return servicesOf(config());
  }

  /** It has no peer: nothing it could hold. */
  @Override
  protected Set<String> held() {
    return Set.of();
  }
}
