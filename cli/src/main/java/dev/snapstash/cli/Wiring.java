package dev.snapstash.cli;

import dev.snapstash.core.config.Choice;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.BackupEngine;
import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.engine.Retention;
import dev.snapstash.core.http.HttpTransport;
import dev.snapstash.core.http.ProxyRules;
import dev.snapstash.core.process.ProcessRunner;
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
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The composition root: builds the engines and the strategies the configuration chooses, each through its provider
 * ({@link Providers}), with {@link #services()} to build them with. No strategy is named here or anywhere else
 * outside its own package.
 */
public class Wiring {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Wiring.class);

  private final SnapstashConfig config;
  private final ProcessRunner runner;
  private final Function<String, String> env;
  private Services services;

  public Wiring(SnapstashConfig config, ProcessRunner runner) {
    this(config, runner, System::getenv);
  }

  /** @param env where proxy variables are read (the process environment, or a test's) */
  public Wiring(SnapstashConfig config, ProcessRunner runner, Function<String, String> env) {
    this.config = config;
    this.runner = runner;
    this.env = env;
  }

  public SnapstashConfig config() {
    return config;
  }

  public ProcessRunner runner() {
    return runner;
  }

  public BackupStore store() {
    return new BackupStore(config.backup().root(), FileModes.of(config.backup().group()));
  }

  /**
   * What every strategy of this composition is built with: one per Wiring, so that what they share (a Bitbucket
   * client per instance, which must never resend a refused login) is shared by all of them.
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
          Clock.systemUTC(), System::nanoTime, Sleeper.REAL, java.util.Map.of(), new ConcurrentHashMap<>());
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
    java.util.function.Supplier<String> storePassword =
        i.truststorePassword() == null ? null : () -> revealed("instance.truststore-password", i.truststorePassword());
    return new HttpTransport(i.caFile(), i.truststore(), storePassword, i.insecure(), proxies);
  }

  /** A secret's value, or a configuration error that names its key (the reference alone does not say which). */
  private static String revealed(String key, dev.snapstash.core.config.Secret secret) {
    try {
      return secret.reveal();
    } catch (dev.snapstash.core.error.SnapstashException e) {
      throw new dev.snapstash.core.error.SnapstashException(e.kind(), key + ": " + e.getMessage(), e);
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

  public Retention.Policy retention() {
    var r = config.retention();
    return new Retention.Policy(r.keepLast(), r.keepDaily(), r.keepWeekly(), r.keepMonthly());
  }

  public BackupEngine engine() {
    return new BackupEngine(
        new BackupEngine.Settings(
            config.instance().name(),
            config.instance().home(),
            store(),
            retention(),
            config.retention().afterBackup(),
            config.backup().freeSpaceMarginMib() * 1024 * 1024,
            Version.get()),
        quiescer(),
        disk(),
        database(),
        notifiers(),
        Clock.systemUTC(),
        System::nanoTime);
  }

  /** Verification with scratch databases of the configured kind under {@code work}, and the configured budget. */
  public dev.snapstash.core.engine.VerifyEngine verifyEngine(java.nio.file.Path work) {
    return verifyEngine(work, config.verify().fsckBudget());
  }

  /** As {@link #verifyEngine(java.nio.file.Path)}, with a full fsck budget of the caller's choosing. */
  public dev.snapstash.core.engine.VerifyEngine verifyEngine(java.nio.file.Path work, java.time.Duration fsckBudget) {
    return new dev.snapstash.core.engine.VerifyEngine(
        store(), database(), database().scratch(work), runner, Clock.systemUTC(),
        System::nanoTime, new java.security.SecureRandom(), fsckBudget);
  }

  /** The recovery of a dead run: every undo step it journaled replays itself with {@link #services()}. */
  public RecoverEngine recoverEngine() {
    return new RecoverEngine(store(), services(), notifiers(), Clock.systemUTC());
  }
}
