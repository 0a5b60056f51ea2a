package dev.snapstash.core.api;

import dev.snapstash.core.config.Choice;
import dev.snapstash.core.config.Secret;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.ArchiveDestination;
import dev.snapstash.core.engine.BackupEngine;
import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.engine.Retention;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.http.HttpTransport;
import dev.snapstash.core.http.ProxyRules;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Providers;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Strategy;
import dev.snapstash.core.spi.StrategyKind;
import dev.snapstash.core.util.FileModes;
import dev.snapstash.core.util.Sleeper;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root behind {@link Snapstash}: builds the engines and the strategies the configuration chooses,
 * each through its provider ({@link Providers}), with {@link #services()} to build them with. No strategy is named
 * here or anywhere else outside its own package. Public for tests that need one strategy as configured.
 */
public class Composition {
  private static final Logger log = LoggerFactory.getLogger(Composition.class);

  private final SnapstashConfig config;
  private final ProcessRunner runner;
  private final Function<String, String> env;
  private final String version;
  private Services services;

  /**
   * @param env where proxy variables are read (the process environment, or a test's)
   * @param version snapstash's own version, written into each manifest
   */
  public Composition(SnapstashConfig config, ProcessRunner runner, Function<String, String> env, String version) {
    this.config = config;
    this.runner = runner;
    this.env = env;
    this.version = version;
  }

  public SnapstashConfig config() {
    return config;
  }

  public ProcessRunner runner() {
    return runner;
  }

  /** The same composition for another configuration (a restore into another database): same runner, environment. */
  Composition with(SnapstashConfig other) {
    return new Composition(other, runner, env, version);
  }

  public BackupStore store() {
    return new BackupStore(config.backup().root(), FileModes.of(config.backup().group()));
  }

  /**
   * What every strategy of this composition is built with: one per composition, so that what they share (a
   * Bitbucket client per instance, which must never resend a refused login) is shared by all of them.
   */
  public synchronized Services services() {
    if (services == null) {
      HttpTransport[] transport = new HttpTransport[1];
      services = new Services(
          config.instance(), config.backup(), runner,
          () -> {
            synchronized (transport) {
              if (transport[0] == null) {
                transport[0] = transport();
              }
              return transport[0];
            }
          },
          Clock.systemUTC(), System::nanoTime, Sleeper.REAL, Map.of(), new ConcurrentHashMap<>());
    }
    return services;
  }

  /**
   * TLS trust and proxies for instance.base-url, as configured. instance.insecure is warned about every time: a
   * setting that lets anyone on the path read the credentials must not go quiet in a cron job's log.
   */
  public HttpTransport transport() {
    var i = config.instance();
    var proxies = ProxyRules.of(i.proxy(), env);
    for (String ignored : proxies.ignored()) {
      log.warn("ignoring {}", ignored);
    }
    if (i.insecure()) {
      log.warn("instance.insecure is on: the certificate of {} is not checked, so anyone on the path can read the"
          + " credentials; set instance.ca-file to its CA's PEM file instead", i.baseUrl());
    }
    Supplier<String> storePassword =
        i.truststorePassword() == null ? null : () -> revealed("instance.truststore-password", i.truststorePassword());
    return new HttpTransport(i.caFile(), i.truststore(), storePassword, i.insecure(), proxies);
  }

  /** A secret's value, or a configuration error that names its key (the reference alone does not say which). */
  private static String revealed(String key, Secret secret) {
    try {
      return secret.reveal();
    } catch (SnapstashException e) {
      throw new SnapstashException(e.kind(), key + ": " + e.getMessage(), e);
    }
  }

  /** The strategy {@code choice} names, built by its provider. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static <T extends Strategy> T create(StrategyKind kind, Choice choice, String key, Services services) {
    Provider provider = Providers.require(kind, choice.type(), key);
    return (T) provider.create(choice.settings(), services);
  }

  public Quiescer quiescer() {
    return create(StrategyKind.QUIESCE, config.quiesce(), "quiesce.type", services());
  }

  public DatabaseStrategy database() {
    return create(StrategyKind.DATABASE, config.database(), "database.type", services());
  }

  /** The disk strategy, told what the database strategy does (whether the embedded database files are its). */
  public DiskStrategy disk() {
    return create(
        StrategyKind.DISK, config.disk(), "disk.type",
        services().withPeer(StrategyKind.DATABASE, database().capabilities()));
  }

  public List<Notifier> notifiers() {
    List<Notifier> out = new ArrayList<>();
    for (int i = 0; i < config.notifications().size(); i++) {
      out.add(create(StrategyKind.NOTIFY, config.notifications().get(i), "notify[" + i + "].type", services()));
    }
    return out;
  }

  /** The configured archive destinations, in the order of {@code archive}, each built by its provider. */
  public List<ArchiveDestination> archives() {
    List<ArchiveDestination> out = new ArrayList<>();
    for (int i = 0; i < config.archives().size(); i++) {
      Choice c = config.archives().get(i);
      SnapstashConfig.Destination d = c.common(SnapstashConfig.Destination.class);
      ArchiveStrategy strategy = create(StrategyKind.ARCHIVE, c, "archive[" + i + "].type", services());
      out.add(new ArchiveDestination(
          d.name(), strategy, new Retention.Policy(d.keepLast(), d.keepDaily(), d.keepWeekly(), d.keepMonthly())));
    }
    return out;
  }

  /** The destination named {@code name}, or a USAGE error listing the names there are. */
  public ArchiveDestination archive(String name) {
    List<ArchiveDestination> all = archives();
    return all.stream().filter(a -> a.name().equals(name)).findFirst().orElseThrow(() -> new SnapstashException(
        dev.snapstash.core.error.ErrorKind.USAGE,
        all.isEmpty()
            ? "--from " + name + ": no archive destination is configured; add one under archive: in the configuration"
            : "--from " + name + " names no archive destination; the configured ones are "
                + String.join(", ", all.stream().map(ArchiveDestination::name).toList())));
  }

  public Retention.Policy retention() {
    var r = config.retention();
    return new Retention.Policy(r.keepLast(), r.keepDaily(), r.keepWeekly(), r.keepMonthly());
  }

  public BackupEngine backupEngine() {
    return new BackupEngine(
        new BackupEngine.Settings(
            config.instance().name(),
            config.instance().home(),
            store(),
            retention(),
            config.retention().afterBackup(),
            config.backup().freeSpaceMarginMib() * 1024 * 1024,
            version),
        quiescer(),
        disk(),
        database(),
        notifiers(),
        archives(),
        Clock.systemUTC(),
        System::nanoTime);
  }

  /** Verification with scratch databases of the configured kind under {@code work}, and {@code fsckBudget}. */
  public VerifyEngine verifyEngine(Path work, Duration fsckBudget) {
    // One strategy object for both: creating one validates its settings and looks for its client tools.
    DatabaseStrategy database = database();
    return new VerifyEngine(
        store(), database, database.scratch(work), runner, Clock.systemUTC(), System::nanoTime, new SecureRandom(),
        fsckBudget);
  }

  /** The recovery of a dead run: every undo step it journaled replays itself with {@link #services()}. */
  public RecoverEngine recoverEngine() {
    return new RecoverEngine(store(), services(), notifiers(), Clock.systemUTC());
  }
}
