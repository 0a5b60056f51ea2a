package dev.snapstash.cli;

import dev.snapstash.core.bitbucket.BitbucketClient;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.BackupEngine;
import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.engine.Retention;
import dev.snapstash.core.engine.Sleeper;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.util.FileModes;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.strategy.database.collocated.CollocatedDatabaseStrategy;
import dev.snapstash.strategy.database.h2.H2BackupStrategy;
import dev.snapstash.strategy.database.mysql.MysqlDumpStrategy;
import dev.snapstash.strategy.database.none.NoDatabaseStrategy;
import dev.snapstash.strategy.database.postgresql.PostgresDumpStrategy;
import dev.snapstash.strategy.disk.btrfs.BtrfsDiskStrategy;
import dev.snapstash.strategy.disk.none.NoDiskStrategy;
import dev.snapstash.strategy.disk.rsync.RsyncDiskStrategy;
import dev.snapstash.strategy.notify.webhook.WebhookNotifier;
import dev.snapstash.strategy.quiesce.bitbucket.BitbucketQuiescer;
import dev.snapstash.strategy.quiesce.command.CommandQuiescer;
import dev.snapstash.strategy.quiesce.none.NoQuiescer;
import java.time.Clock;
import java.util.List;
import java.util.Set;

/**
 * The composition root and strategy registry: every strategy is named here, once, and built with {@code new}
 * from its configuration section. Nothing else in snapstash chooses an implementation by name.
 */
public class Wiring {
  public static final Set<String> QUIESCERS = Set.of("bitbucket", "command", "none");
  public static final Set<String> DISKS = Set.of("rsync", "btrfs", "none");
  public static final Set<String> DATABASES = Set.of("postgresql", "mysql", "h2", "collocated", "none");
  public static final Set<String> NOTIFIERS = Set.of("webhook", "hipchat");

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Wiring.class);

  private final SnapstashConfig config;
  private final ProcessRunner runner;
  private final java.util.function.Function<String, String> env;
  /** One client per instance: a login refused once is then never sent again, by any undo of a recover. */
  private final java.util.Map<java.net.URI, BitbucketClient> clients = new java.util.concurrent.ConcurrentHashMap<>();

  public Wiring(SnapstashConfig config, ProcessRunner runner) {
    this(config, runner, System::getenv);
  }

  /** @param env where proxy variables are read (the process environment, or a test's) */
  public Wiring(SnapstashConfig config, ProcessRunner runner, java.util.function.Function<String, String> env) {
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

  public Quiescer quiescer() {
    var q = config.quiesce();
    return switch (known("quiesce.type", q.type(), QUIESCERS)) {
      case "bitbucket" -> new BitbucketQuiescer(
          bitbucketClient(), config.backup().drainTimeout(), config.backup().pollInterval(), Sleeper.REAL,
          System::nanoTime);
      case "command" -> {
        var c = q.command();
        if (c == null) {
          throw SnapstashException.config("quiesce.command is required when quiesce.type is command");
        }
        yield new CommandQuiescer(c.lock(), c.unlock(), c.timeout(), runner, System::nanoTime);
      }
      default -> new NoQuiescer();
    };
  }

  public BitbucketClient bitbucketClient() {
    var i = config.instance();
    if (i.baseUrl() == null) {
      throw SnapstashException.config("instance.base-url is required when quiesce.type is bitbucket");
    }
    return clientFor(i.baseUrl(), "when quiesce.type is bitbucket");
  }

  /**
   * TLS trust and proxies for instance.base-url, as configured. instance.insecure is warned about every time: a
   * setting that lets anyone on the path read the credentials must not go quiet in a cron job's log.
   */
  public dev.snapstash.core.http.HttpTransport transport() {
    var i = config.instance();
    var proxies = dev.snapstash.core.http.ProxyRules.of(i.proxy(), env);
    for (String ignored : proxies.ignored()) {
      log.warn("ignoring {}", ignored);
    }
    if (i.insecure()) {
      log.warn("instance.insecure is on: the certificate of {} is not checked, so anyone on the path can read the"
          + " credentials; set instance.ca-file to its CA's PEM file instead", i.baseUrl());
    }
    java.util.function.Supplier<String> storePassword =
        i.truststorePassword() == null ? null : () -> revealed("instance.truststore-password", i.truststorePassword());
    return new dev.snapstash.core.http.HttpTransport(i.caFile(), i.truststore(), storePassword, i.insecure(), proxies);
  }

  private BitbucketClient.Credentials credentials(String why) {
    var i = config.instance();
    if (i.token() != null) {
      return new BitbucketClient.Credentials.Bearer(() -> revealed("instance.token", i.token()));
    }
    if (i.username() == null || i.password() == null) {
      throw SnapstashException.config("instance.username and instance.password are required " + why);
    }
    return new BitbucketClient.Credentials.Basic(i.username(), () -> revealed("instance.password", i.password()));
  }

  /** A secret's value, or a configuration error that names its key (the reference alone does not say which). */
  private static String revealed(String key, dev.snapstash.core.config.Secret secret) {
    try {
      return secret.reveal();
    } catch (SnapstashException e) {
      throw new SnapstashException(e.kind(), key + ": " + e.getMessage(), e);
    }
  }

  public DiskStrategy disk() {
    var d = config.disk();
    return switch (known("disk.type", d.type(), DISKS)) {
      case "rsync" -> new RsyncDiskStrategy(
          config.instance().home(),
          d.rsync().excludes(),
          embeddedDatabaseCopiedSeparately(),
          d.rsync().linkDest(),
          d.rsync().btrfsClones(),
          d.rsync().preCopy(),
          d.rsync().trackChanges(),
          d.rsync().parallel(),
          runner);
      case "btrfs" -> new BtrfsDiskStrategy(
          d.btrfs(), config.instance().home(), config.backup().root(), embeddedDatabaseCopiedSeparately(), runner);
      default -> new NoDiskStrategy();
    };
  }

  /** The H2 files are copied by the h2 strategy, or not at all when an external database is used. */
  private boolean embeddedDatabaseCopiedSeparately() {
    String t = config.database().type();
    return !t.equals("none") && !t.equals("collocated");
  }

  public DatabaseStrategy database() {
    var d = config.database();
    return switch (known("database.type", d.type(), DATABASES)) {
      case "postgresql" -> new PostgresDumpStrategy(d.postgresql(), runner);
      case "mysql" -> new MysqlDumpStrategy(d.mysql(), runner);
      case "h2" -> new H2BackupStrategy(d.h2(), config.instance().home());
      case "collocated" -> new CollocatedDatabaseStrategy(d.collocated(), config.instance().home());
      default -> new NoDatabaseStrategy();
    };
  }

  public List<Notifier> notifiers() {
    return config.notifications().stream()
        .map(
            n ->
                (Notifier)
                    new WebhookNotifier(
                        known("notify[].type", n.type(), NOTIFIERS).equals("hipchat")
                            ? WebhookNotifier.Shape.HIPCHAT
                            : WebhookNotifier.Shape.WEBHOOK,
                        n.url(),
                        n.token(),
                        n.onSuccess(),
                        n.onFailure(),
                        n.notifyRoom()))
        .toList();
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
        store(), database(), ScratchDatabases.forConfig(config, runner, work), runner, Clock.systemUTC(),
        System::nanoTime, new java.security.SecureRandom(), fsckBudget);
  }

  /** The recovery of a dead run, with an undoer for every kind of side effect a run records. */
  public RecoverEngine recoverEngine() {
    return new RecoverEngine(store(), this::undoer, notifiers(), Clock.systemUTC());
  }

  /**
   * How each recorded side effect is undone. A lock or task the instance no longer has counts as released (see
   * {@code Leftovers}), but never on a refusal that could hide a lock still held.
   */
  RecoverEngine.Undoer undoer(Undo undo) {
    return u -> {
      if (u instanceof Undo.Unlock l) {
        dev.snapstash.strategy.quiesce.bitbucket.Leftovers.unlock(clientFor(l.baseUrl(), "to unlock " + l.baseUrl()), l.unlockToken());
      } else if (u instanceof Undo.CancelTask c) {
        dev.snapstash.strategy.quiesce.bitbucket.Leftovers.cancel(clientFor(c.baseUrl(), "to cancel the task on " + c.baseUrl()), c.cancelToken());
      } else if (u instanceof Undo.RunCommand r) {
        runner.run(dev.snapstash.core.process.Command.of(r.argv()).withTimeout(java.time.Duration.ofMinutes(5)));
      } else if (u instanceof Undo.Thaw t) {
        var result =
            runner.runAllowingFailure(dev.snapstash.core.process.Command.of("fsfreeze", "-u", t.mountPoint().toString()), l -> {});
        // fsfreeze -u on a mount that is not frozen fails with "Invalid argument": already thawed.
        if (result.exitCode() != 0 && !result.stderrTail().contains("Invalid argument")) {
          throw new SnapstashException(
              dev.snapstash.core.error.ErrorKind.EXTERNAL_COMMAND, "fsfreeze -u " + t.mountPoint() + " failed: " + result.stderrTail());
        }
      } else if (u instanceof Undo.DeleteSnapshot d && d.kind().equals(BtrfsDiskStrategy.SNAPSHOT_KIND)) {
        BtrfsDiskStrategy.deleteSnapshot(java.nio.file.Path.of(d.id()), runner);
      } else {
        throw SnapstashException.internal("no way to undo " + u, null);
      }
    };
  }

  private BitbucketClient clientFor(java.net.URI baseUrl, String why) {
    var credentials = credentials(why);
    return clients.computeIfAbsent(baseUrl, b -> new BitbucketClient(new BitbucketClient.Settings(
        b, credentials, transport(), config.backup().requestTimeout(), config.backup().rateLimitWait(),
        Sleeper.REAL, Clock.systemUTC())));
  }

  private static String known(String key, String value, Set<String> names) {
    if (value == null || !names.contains(value)) {
      throw SnapstashException.config(
          key + " '" + value + "' is not one of " + String.join(", ", names.stream().sorted().toList()));
    }
    return value;
  }
}
