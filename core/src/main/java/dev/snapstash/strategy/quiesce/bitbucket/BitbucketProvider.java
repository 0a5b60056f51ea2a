package dev.snapstash.strategy.quiesce.bitbucket;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import dev.snapstash.core.spi.Undo;
import java.util.Map;

/** {@code quiesce.type: bitbucket}: the maintenance lock over REST, with the instance section's URL and credentials. */
public final class BitbucketProvider implements Provider<Provider.NoSettings, Quiescer> {
  @Override
  public StrategyKind kind() {
    return StrategyKind.QUIESCE;
  }

  @Override
  public String name() {
    return "bitbucket";
  }

  @Override
  public String summary() {
    return "Bitbucket's maintenance lock over REST: lock, wait until drained, unlock (instance.base-url and a SYSADMIN user)";
  }

  @Override
  public Class<NoSettings> settingsType() {
    return NoSettings.class;
  }

  @Override
  public Quiescer create(NoSettings settings, Services services) {
    var i = services.instance();
    if (i.baseUrl() == null) {
      throw SnapstashException.config("instance.base-url is required when quiesce.type is bitbucket");
    }
    var b = services.backup();
    return new BitbucketQuiescer(
        Clients.of(services, i.baseUrl(), "when quiesce.type is bitbucket"), b.drainTimeout(), b.pollInterval(),
        services.sleeper(), services.nanoTime());
  }

  @Override
  public Map<String, Class<? extends Undo>> undoTypes() {
    return Map.of("unlock", BitbucketUndo.Unlock.class, "cancel", BitbucketUndo.CancelTask.class);
  }
}
