package dev.snapstash.core.spi;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.http.HttpTransport;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.util.Sleeper;
import java.time.Clock;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * What a provider may build a strategy with, and an undo step replay itself with: the instance and the backup
 * settings every strategy shares, the one process runner, the configured HTTP transport, time, and what the
 * strategies chosen beside it can do.
 *
 * @param instance the instance section (name, home, base URL, credentials, TLS)
 * @param backup the backup section (root, timeouts)
 * @param transport the HTTP transport for instance.base-url (trust, proxies); built on first use
 * @param peers the capabilities of the strategies already built for the same run, by kind (the database is built
 *     before the disk, which asks it whether the embedded database files are its concern)
 * @param shared objects built once per composition and shared by everything built with these services (one
 *     Bitbucket client per base URL, so that a login refused once is not sent again)
 */
public record Services(
    SnapstashConfig.Instance instance,
    SnapstashConfig.Backup backup,
    ProcessRunner runner,
    Supplier<HttpTransport> transport,
    Clock clock,
    LongSupplier nanoTime,
    Sleeper sleeper,
    Map<StrategyKind, Set<Capability>> peers,
    Map<Object, Object> shared) {

  /** Services for strategies built alone (tests, tools): the real clock, sleeper and runner, no peers. */
  public static Services of(SnapstashConfig.Instance instance, SnapstashConfig.Backup backup, ProcessRunner runner) {
    return new Services(
        instance, backup, runner, HttpTransport::standard, Clock.systemUTC(), System::nanoTime, Sleeper.REAL,
        new ConcurrentHashMap<>(), new ConcurrentHashMap<>());
  }

  /** What the strategy of {@code kind} built for this run can do; empty if none was built. */
  public Set<Capability> peer(StrategyKind kind) {
    return peers.getOrDefault(kind, Set.of());
  }

  /** These services with {@code kind}'s capabilities known to the strategies built after it. */
  public Services withPeer(StrategyKind kind, Set<Capability> capabilities) {
    Map<StrategyKind, Set<Capability>> p = new ConcurrentHashMap<>(peers);
    p.put(kind, Set.copyOf(capabilities));
    return new Services(instance, backup, runner, transport, clock, nanoTime, sleeper, Map.copyOf(p), shared);
  }

  /** The object built once per composition under {@code key}. */
  @SuppressWarnings("unchecked")
  public <T> T shared(Object key, Function<Object, T> build) {
    return (T) shared.computeIfAbsent(key, build);
  }
}
