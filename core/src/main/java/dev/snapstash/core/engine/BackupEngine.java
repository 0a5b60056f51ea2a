package dev.snapstash.core.engine;

import dev.snapstash.core.util.Tags;
import dev.snapstash.core.spi.RunReport;
import dev.snapstash.core.util.Digests;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.util.PrivateFiles;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes one backup, in the order the Bitbucket protocol requires: validate everything before locking; pre-copy
 * while live; lock and drain; database and home copies in parallel; unlock; only then finalise, apply retention
 * and notify. Every failure after the lock cancels the task, unlocks, and removes the partial backup before the
 * error is rethrown; clean-up errors are attached to the first error, never swallowed.
 *
 * <p>The engine never branches on a strategy's kind: it calls the SPI verbs in order.
 */
public final class BackupEngine {
  private static final Logger log = LoggerFactory.getLogger(BackupEngine.class);
  private static final Duration STOP_COPIES_WAIT = Duration.ofSeconds(30);
  /**
   * Threads of the previous backup's check: stats and reads that mostly wait on the kernel or the disk, so a few
   * more than the two cores this runs on beside the instance.
   */
  private static final int CHECK_THREADS = Math.max(4, Runtime.getRuntime().availableProcessors());

  /**
   * @param instanceName the tag prefix
   * @param home the instance home (for the first backup's size estimate)
   * @param store the backup catalogue under backup.root
   * @param retention applied after a good backup when {@code retentionAfterBackup}
   * @param freeSpaceMarginBytes free space required beyond the estimate
   * @param version snapstash's own version, for the manifest
   */
  public record Settings(
      String instanceName,
      Path home,
      BackupStore store,
      Retention.Policy retention,
      boolean retentionAfterBackup,
      long freeSpaceMarginBytes,
      String version) {}

  private final Settings settings;
  private final Quiescer quiescer;
  private final DiskStrategy disk;
  private final DatabaseStrategy database;
  private final List<Notifier> notifiers;
  private final Clock clock;
  private final LongSupplier nanoTime;

  public BackupEngine(
      Settings settings,
      Quiescer quiescer,
      DiskStrategy disk,
      DatabaseStrategy database,
      List<Notifier> notifiers,
      Clock clock,
      LongSupplier nanoTime) {
    this.settings = settings;
    this.quiescer = quiescer;
    this.disk = disk;
    this.database = database;
    this.notifiers = List.copyOf(notifiers);
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  /** Everything {@code snapstash check} and the backup's preflight look at. Changes nothing. */
  public Findings check() {
    Findings f = new Findings();
    // First: a stray fault-injection variable is the one problem that must decide the exit code.
    FaultPoints.check(f);
    // Which SHA-256 the checksums of this run take; the disk strategy says the same of its own fast paths.
    Digests.check(f);
    try {
      Tags.validateName(settings.instanceName());
      f.ok("instance.name", settings.instanceName());
    } catch (SnapstashException e) {
      f.problem("instance.name", e);
    }
    if (!quiescer.capabilities().contains(Capability.LOCKS) && !disk.capabilities().contains(Capability.ATOMIC_CAPTURE)) {
      f.problem(
          "quiesce.type",
          "quiesce.type none (zero-downtime) needs an atomic snapshot disk strategy such as btrfs; disk.type "
              + disk.name() + " copies file by file and can never be consistent without a lock",
          ErrorKind.CONFIG);
    }
    if (java.nio.file.Files.exists(Journal.file(settings.store().root()))) {
      f.problem("journal", Journal.leftover(settings.store().root()).getMessage());
    }
    List<java.util.function.Consumer<Findings>> checks = new java.util.ArrayList<>();
    checks.add(quiescer::check);
    checks.add(disk::check);
    checks.add(database::check);
    for (Notifier n : notifiers) {
      checks.add(n::check);
    }
    checks.add(this::checkStorage);
    for (Findings part : inParallel(checks)) {
      f.addAll(part);
    }
    return f;
  }

  /**
   * The checks are independent and mostly wait (an HTTP round trip, a JDBC login, a tool's --version), so they
   * run side by side; their findings are merged in the fixed order above, which decides the exit code.
   */
  private static List<Findings> inParallel(List<java.util.function.Consumer<Findings>> checks) {
    ExecutorService pool = Executors.newFixedThreadPool(checks.size(), r -> {
      Thread t = new Thread(r, "preflight");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<Findings>> futures = new java.util.ArrayList<>();
      for (var check : checks) {
        futures.add(pool.submit(() -> {
          Findings part = new Findings();
          check.accept(part);
          return part;
        }));
      }
      List<Findings> parts = new java.util.ArrayList<>();
      for (Future<Findings> fu : futures) {
        parts.add(fu.get());
      }
      return parts;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted during the preflight checks; nothing was locked", e);
    } catch (ExecutionException e) {
      throw unwrap(e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  private void checkStorage(Findings f) {
    Path root = settings.store().root();
    if (!RootModes.check(settings.store(), f)) {
      return;
    }
    try {
      settings.store().modes().createDirectories(root);
      if (!Files.isWritable(root)) {
        f.problem("backup.root", root + " is not writable by this user", ErrorKind.STORAGE);
        return;
      }
      long free = Files.getFileStore(root).getUsableSpace();
      long needed = estimate() + settings.freeSpaceMarginBytes();
      String line = Trees.humanBytes(free) + " free, about " + Trees.humanBytes(needed) + " needed";
      if (free < needed) {
        f.problem("backup.root", "not enough space under " + root + ": " + line + "; free space or prune old backups", ErrorKind.STORAGE);
      } else {
        f.ok("backup.root", root + ": " + line);
      }
    } catch (IOException e) {
      f.problem("backup.root", "cannot use " + root + ": " + e.getMessage(), ErrorKind.STORAGE);
    }
  }

  /**
   * Space the next backup needs: what the last one wrote (hard-linked incrementals write only what changed, but
   * the database is written whole every time), or the home's size for the first backup.
   */
  private long estimate() {
    Optional<Manifest> last = settings.store().latestComplete();
    if (last.isPresent()) {
      Manifest m = last.get();
      long db = m.database() == null ? 0 : m.database().bytes();
      long home = m.home() == null ? 0 : m.home().bytesWritten();
      return db + home;
    }
    return disk.capabilities().contains(Capability.COPIES_HOME) ? Trees.sizeAndCount(settings.home())[0] : 0;
  }

  /** Runs one backup and returns its final manifest; throws after cleaning up if anything fails. */
  public Manifest backup(Progress progress) {
    Instant startedAt = clock.instant();
    long t0 = nanoTime.getAsLong();
    Map<String, Long> phases = new LinkedHashMap<>();
    try {
      // Before the run guard: its lock file is the first thing a run writes into the root.
      Findings root = new Findings();
      if (!RootModes.check(settings.store(), root)) {
        throw preflightFailure(root);
      }
      try (RunGuard guard = RunGuard.acquire(settings.store(), "backup")) {
        // Password files of a run that was killed (see PrivateFiles): nothing else will remove them.
        PrivateFiles.sweep(settings.store().root());
        // The previous backup's copy is checked from the start: a stat per file, which must come before the
        // pre-copy hard-links against it (a link moves the change time the check compares).
        PreviousHome previous =
            PreviousHome.start(
                settings.store().latestComplete().map(m -> settings.store().dir(m.tag())), CHECK_THREADS);
        DiskStrategy.Run diskRun = disk.begin(settings.store().root());
        try {
          return checkAndRun(progress, startedAt, t0, phases, previous, diskRun);
        } finally {
          previous.close();
          diskRun.close();
        }
      }
    } catch (SnapstashException e) {
      sendNotifications(
          new RunReport(
              "backup", settings.instanceName(), null, false, startedAt, Duration.ofNanos(nanoTime.getAsLong() - t0), null, 0, e.getMessage()));
      throw e;
    }
  }

  /** The preflight, then the run; the disk strategy's early reading goes on beside the preflight. */
  private Manifest checkAndRun(
      Progress progress, Instant startedAt, long t0, Map<String, Long> phases, PreviousHome previous,
      DiskStrategy.Run diskRun) {
    Findings findings = check();
    for (Findings.Finding finding : findings.all()) {
      log.debug("preflight: {}: {}", finding.subject(), finding.message());
    }
    if (findings.hasProblems()) {
      throw preflightFailure(findings);
    }
    for (Findings.Finding w : findings.warnings()) {
      log.warn("{}: {}", w.subject(), w.message());
    }
    int tightened = settings.store().applyModes();
    if (tightened > 0) {
      log.info("gave {} backup(s) under {} the modes {}", tightened, settings.store().root(), settings.store().modes().describe());
    }
    phases.put("preflight", millisSince(t0));
    String tag = freeTag(startedAt);
    Journal journal = Journal.begin(settings.store().root(), "backup", tag);
    RemovePartialBackup partial = new RemovePartialBackup(tag, settings.store().dir(tag));
    Manifest manifest;
    try {
      journal.add(partial);
      manifest = startManifest(tag, startedAt);
    } catch (RuntimeException e) {
      Trees.deleteRecursively(settings.store().dir(tag));
      journal.finish();
      throw e;
    }
    Run run = new Run(tag, manifest, phases, progress, t0, journal, partial, previous, diskRun);
    return run.execute();
  }

  private static SnapstashException preflightFailure(Findings findings) {
    List<Findings.Finding> problems = findings.problems();
    StringBuilder msg = new StringBuilder("preflight found ");
    msg.append(problems.size() == 1 ? "a problem" : problems.size() + " problems").append(", nothing was locked:");
    for (Findings.Finding p : problems) {
      msg.append("\n  - ").append(p.subject()).append(": ").append(p.message());
    }
    ErrorKind kind = problems.get(0).kind() == null ? ErrorKind.PRECONDITION : problems.get(0).kind();
    return new SnapstashException(kind, msg.toString());
  }

  private String freeTag(Instant at) {
    Instant t = at;
    String tag = Tags.tag(settings.instanceName(), t);
    // Two runs within one second (a retry right after a failure) must not share a directory.
    while (Files.exists(settings.store().dir(tag))) {
      t = t.plusSeconds(1);
      tag = Tags.tag(settings.instanceName(), t);
    }
    return tag;
  }

  private Manifest startManifest(String tag, Instant startedAt) {
    Map<String, String> strategies = new LinkedHashMap<>();
    strategies.put("quiesce", quiescer.name());
    strategies.put("disk", disk.name());
    strategies.put("database", database.name());
    Manifest m =
        new Manifest(
            Manifest.FORMAT, tag, Manifest.State.IN_PROGRESS, settings.instanceName(), quiescer.applicationVersion(),
            settings.version(), strategies, Map.of(), startedAt, null, Map.of(), null, null, null, null, null, null, null, null,
            null, nodesOrNull(quiescer.applicationNodes()));
    settings.store().write(m);
    return m;
  }

  private static List<dev.snapstash.core.spi.ApplicationNode> nodesOrNull(List<dev.snapstash.core.spi.ApplicationNode> n) {
    return n == null || n.isEmpty() ? null : List.copyOf(n);
  }

  private long millisSince(long t) {
    return Duration.ofNanos(nanoTime.getAsLong() - t).toMillis();
  }

  private void sendNotifications(RunReport report) {
    for (Notifier n : notifiers) {
      try {
        n.send(report);
      } catch (RuntimeException e) {
        log.warn("notification via {} failed: {}", n.name(), e.getMessage());
      }
    }
  }

  /** The state of one backup run; exists so the steps can share it without fields on the engine. */
  private final class Run {
    private final String tag;
    private final Manifest started;
    private final Map<String, Long> phases;
    private final Progress progress;
    private final long t0;
    private final BackupContext context;
    private final Journal journal;
    private final RemovePartialBackup partial;
    private final PreviousHome previousHome;
    private final DiskStrategy.Run diskRun;
    private Duration lockWindow;
    private Instant unlockedAt;
    private long bytesUnderLock;

    Run(
        String tag,
        Manifest started,
        Map<String, Long> phases,
        Progress progress,
        long t0,
        Journal journal,
        RemovePartialBackup partial,
        PreviousHome previousHome,
        DiskStrategy.Run diskRun) {
      this.journal = journal;
      this.diskRun = diskRun;
      this.previousHome = previousHome;
      this.partial = partial;
      this.tag = tag;
      this.started = started;
      this.phases = phases;
      this.progress = progress;
      this.t0 = t0;
      // The checksums after the unlock start from the previous backup's list, which its check reads.
      this.context =
          new BackupContext(
              tag, settings.store().dir(tag), previousHome.backupDir(), progress, journal, settings.store().modes(),
              previousHome);
    }

    Manifest execute() {
      QuiesceLock lock = null;
      DatabaseStrategy.Run databaseRun = null;
      DatabaseStrategy.Pending pendingDatabase = null;
      try {
        long t = nanoTime.getAsLong();
        diskRun.prepareBackup(context);
        databaseRun = database.prepareBackup(context);
        phases.put("pre-copy", millisSince(t));

        t = nanoTime.getAsLong();
        lock = quiescer.quiesce(progress, journal);
        phases.put("lock-and-drain", millisSince(t));

        t = nanoTime.getAsLong();
        Object[] copies = copyUnderLock(lock, databaseRun);
        pendingDatabase = (DatabaseStrategy.Pending) copies[0];
        CopyResult homeUnderLock = (CopyResult) copies[1];
        phases.put("copy", millisSince(t));
        FaultPoints.hit(FaultPoints.AFTER_COPY_UNDER_LOCK);

        t = nanoTime.getAsLong();
        lock.succeeded();
        QuiesceLock held = lock;
        held.close();
        // Only once the unlock is answered: if close() throws, the failure path must try the unlock again, and
        // must keep the journal for recover if that fails too.
        lock = null;
        lockWindow = quiescer.capabilities().contains(Capability.LOCKS) ? held.heldFor() : null;
        unlockedAt = clock.instant();
        phases.put("unlock", millisSince(t));
        if (lockWindow != null) {
          log.info("instance was locked for {} ms", lockWindow.toMillis());
        }

        FaultPoints.hit(FaultPoints.BEFORE_DATABASE_DUMP);
        t = nanoTime.getAsLong();
        // The database's remaining work (a dump from the snapshot pinned under the lock) runs beside the home's
        // (the disk strategy's last step, then the checksums): one is pg_dump's, the other this JVM's walk.
        DatabaseStrategy.Pending dbWork = pendingDatabase;
        ExecutorService dumper = Executors.newSingleThreadExecutor(r -> new Thread(r, "database-after-unlock"));
        Future<CopyResult> dbDone = dumper.submit(() -> finishDatabase(dbWork));
        CopyResult home;
        CopyResult db;
        long checksums;
        try {
          home = diskRun.afterUnlock(context, homeUnderLock);
          long tc = nanoTime.getAsLong();
          home = withHomeChecksums(home);
          checksums = millisSince(tc);
          db = dbDone.get();
        } catch (ExecutionException e) {
          throw unwrap(e.getCause());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new SnapstashException(ErrorKind.INTERRUPTED, "the backup was interrupted after the unlock; the partial backup was removed", e);
        } finally {
          // A failure of the home's work stops the dump, and the clean-up waits for it: it deletes its directory.
          dbDone.cancel(true);
          dev.snapstash.core.util.Pools.stopAndWait(dumper, STOP_COPIES_WAIT);
        }
        pendingDatabase = null;
        phases.put("after-unlock", millisSince(t) - checksums);
        phases.put("checksums", checksums);

        Manifest done = finish(home, db);
        journal.done(partial);
        journal.finish();
        afterSuccess(done);
        return done;
      } catch (RuntimeException e) {
        if (pendingDatabase != null) {
          try {
            pendingDatabase.close();
          } catch (RuntimeException cleanup) {
            e.addSuppressed(cleanup);
          }
        }
        throw fail(e, lock);
      } finally {
        // After the failure path's unlock: a session prepared for a capture that never came is released here.
        if (databaseRun != null) {
          databaseRun.close();
        }
      }
    }

    /** The database copy's remaining work, from the point pinned under the lock, now that the instance is up. */
    private CopyResult finishDatabase(DatabaseStrategy.Pending pending) {
      try (pending) {
        if (!pending.done()) {
          log.info("dumping the database from the snapshot taken under the lock");
        }
        return pending.finish();
      }
    }

    /**
     * Database and home in parallel; the first failure stops the other before anything is cleaned up. Returns the
     * database's {@link DatabaseStrategy.Pending} and the home's {@link CopyResult}.
     */
    private Object[] copyUnderLock(QuiesceLock lock, DatabaseStrategy.Run databaseRun) {
      Object[] results = new Object[2];
      boolean ok = false;
      ExecutorService pool = Executors.newFixedThreadPool(2, r -> new Thread(r, "copy"));
      try (LockProgress lp = new LockProgress(progress, lock, List.of("database", "home"))) {
        BackupContext underLock =
            new BackupContext(
                tag, context.backupDir(), context.previous(), lp, journal, context.modes(), context.previousCheck());
        ExecutorCompletionService<Void> ecs = new ExecutorCompletionService<>(pool);
        Callable<Void> db =
            () -> {
              results[0] = databaseRun.capture(underLock);
              lp.report("database", 1, "consistent point fixed");
              return null;
            };
        Callable<Void> home =
            () -> {
              results[1] = diskRun.backup(underLock);
              lp.report("home", 1, "done");
              return null;
            };
        // Without a lock (zero-downtime mode) the database is fixed first and the home snapshot taken after it:
        // a push is on disk before the database records it, so repositories from a later instant hold every
        // commit the database mentions. Refs the database does not know yet are what disaster.recovery repairs.
        List<Callable<Void>> tasks =
            quiescer.capabilities().contains(Capability.LOCKS)
                ? List.of(db, home)
                : List.of(
                    () -> {
                      db.call();
                      return home.call();
                    });
        List<Future<Void>> futures = tasks.stream().map(ecs::submit).toList();
        try {
          for (int i = 0; i < futures.size(); i++) {
            ecs.take().get();
          }
        } catch (ExecutionException e) {
          futures.forEach(f -> f.cancel(true));
          throw unwrap(e.getCause());
        } catch (InterruptedException e) {
          futures.forEach(f -> f.cancel(true));
          Thread.currentThread().interrupt();
          throw new SnapstashException(ErrorKind.INTERRUPTED, "the backup was interrupted; the instance was unlocked and the partial backup removed", e);
        }
        ok = true;
      } finally {
        dev.snapstash.core.util.Pools.stopAndWait(pool, STOP_COPIES_WAIT);
        // Only now is the database thread surely done: a snapshot it pinned after the failure is released too.
        if (!ok && results[0] instanceof DatabaseStrategy.Pending p) {
          p.close();
        }
      }
      DatabaseStrategy.Pending pending = (DatabaseStrategy.Pending) results[0];
      bytesUnderLock =
          ((CopyResult) results[1]).bytesTransferred() + (pending.done() ? pending.finish().bytesTransferred() : 0);
      return results;
    }



    private Manifest finish(CopyResult home, CopyResult db) {
      Map<String, String> tools = new LinkedHashMap<>();
      for (CopyResult c : List.of(home, db)) {
        c.details().forEach((k, v) -> {
          if (k.endsWith("version")) {
            tools.put(c.strategy(), v);
          }
        });
      }
      Manifest.Part homePart =
          new Manifest.Part(home.strategy(), home.bytes(), home.files(), homeWritten(home), home.artifacts(), home.details());
      Manifest.Part dbPart =
          new Manifest.Part(db.strategy(), db.bytes(), db.files(), db.bytes(), db.artifacts(), db.details());
      phases.put("total", millisSince(t0));
      Manifest m =
          new Manifest(
              Manifest.FORMAT, tag, Manifest.State.COMPLETE, started.instance(), started.bitbucketVersion(),
              started.snapstashVersion(), started.strategies(), tools, started.startedAt(), clock.instant(),
              Map.copyOf(phases),
              lockWindow == null ? null : unlockedAt.minus(lockWindow),
              lockWindow == null ? null : unlockedAt,
              lockWindow == null ? null : lockWindow.toMillis(),
              bytesUnderLock,
              homePart,
              dbPart,
              null,
              null,
              repaired(),
              started.nodes());
      settings.store().write(m);
      return m;
    }

    /** The damaged files of the previous backup's copy, for the manifest; null when it had none. */
    private Manifest.Repaired repaired() {
      List<String> damaged = previousHome.damaged();
      return damaged.isEmpty()
          ? null
          : Manifest.Repaired.of(previousHome.backupDir().map(p -> p.getFileName().toString()).orElse("?"), damaged);
    }

    /**
     * Checksums every file of the copied home (after the unlock: no downtime), reusing the previous backup's
     * digests for hard-linked files, and lists the checksum file itself as an artifact. The same walk gives the
     * home's size, file count and what this backup added on disk, for every disk strategy alike: a delta that
     * visited only the changed directories cannot know them.
     */
    private CopyResult withHomeChecksums(CopyResult home) {
      if (!Files.isDirectory(context.homeDir())) {
        return home;
      }
      HomeChecksums.Summary sums =
          HomeChecksums.write(
              context.backupDir(), previousHome, Runtime.getRuntime().availableProcessors(), context.modes());
      log.debug(
          "checksummed {} new or changed file(s) of the home's {} ({} vouched for by the home indexes)",
          sums.hashed(), sums.files(), sums.vouched());
      Path list = context.backupDir().resolve(HomeChecksums.FILE);
      try {
        List<dev.snapstash.core.spi.Artifact> artifacts = new java.util.ArrayList<>(home.artifacts());
        artifacts.add(new dev.snapstash.core.spi.Artifact(HomeChecksums.FILE, Files.size(list), dev.snapstash.core.util.Digests.sha256(list)));
        Map<String, String> details = new LinkedHashMap<>(home.details());
        // A strategy that knows better (btrfs: what the receive wrote) keeps its own figure.
        details.putIfAbsent("bytes-written", String.valueOf(sums.unsharedBytes()));
        if (previousHome.backupDir().isPresent()) {
          details.put("previous-check", previousHome.summary());
        }
        return new CopyResult(home.strategy(), sums.bytes(), sums.files(), home.bytesTransferred(), artifacts, details);
      } catch (IOException e) {
        throw SnapstashException.storage("cannot read " + list + ": " + e.getMessage(), e);
      }
    }

    /**
     * What this backup added on disk for the home: files hard-linked against the previous backup cost nothing,
     * so only files with a single link count. This is also what pruning this backup would free. Every copied
     * home has the figure from {@link #withHomeChecksums} (or from its strategy); without a home copy it is the
     * strategy's own size.
     */
    private long homeWritten(CopyResult home) {
      String reported = home.details().get("bytes-written");
      return reported != null ? Long.parseLong(reported) : home.bytes();
    }

    private void afterSuccess(Manifest done) {
      if (settings.retentionAfterBackup() && !settings.retention().isEmpty()) {
        long t = nanoTime.getAsLong();
        try {
          new Pruner(settings.store()).prune(settings.retention(), false, Progress.NONE);
        } catch (SnapstashException e) {
          log.warn("retention after the backup failed (the backup itself is complete): {}", e.getMessage());
        }
        phases.put("retention", millisSince(t));
      }
      sendNotifications(
          new RunReport(
              "backup", settings.instanceName(), tag, true, done.startedAt(), Duration.ofMillis(done.totalMillis()),
              lockWindow, done.bytes(), null));
    }

    /**
     * The failure path: unlock first (production must not stay locked while we tidy up), then let each strategy
     * remove what it made, then remove the backup directory, or mark it failed if it cannot be removed.
     */
    private SnapstashException fail(RuntimeException cause, QuiesceLock lock) {
      SnapstashException first =
          Trees.explainStorage(
              cause instanceof SnapstashException se
                  ? se
                  : SnapstashException.internal("unexpected error during the backup: " + cause, cause),
              settings.store().root().toString(), context.backupDir());
      boolean interrupted = Thread.interrupted();
      if (interrupted && first.kind() != ErrorKind.INTERRUPTED) {
        SnapstashException i =
            new SnapstashException(ErrorKind.INTERRUPTED, "the backup was interrupted; the instance was unlocked and the partial backup removed", first);
        first = i;
      }
      int cleanFailures = first.getSuppressed().length;
      try {
        if (lock != null) {
          try {
            lock.close();
            lockWindow = quiescer.capabilities().contains(Capability.LOCKS) ? lock.heldFor() : null;
          } catch (RuntimeException e) {
            first.addSuppressed(e);
          }
        }
        for (Runnable cleanup :
            List.<Runnable>of(() -> database.cleanupIncomplete(context), () -> diskRun.cleanupIncomplete(context))) {
          try {
            cleanup.run();
          } catch (RuntimeException e) {
            first.addSuppressed(e);
          }
        }
        try {
          Trees.deleteRecursively(context.backupDir());
          journal.done(partial);
          log.info("removed the incomplete backup {}", tag);
        } catch (RuntimeException e) {
          first.addSuppressed(e);
          try {
            settings.store().write(started.withState(Manifest.State.FAILED, clock.instant(), first.getMessage()));
          } catch (RuntimeException e2) {
            first.addSuppressed(e2);
          }
        }
        endJournal(journal, first, first.getSuppressed().length == cleanFailures);
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      return first;
    }
  }

  /**
   * A failed run whose clean-up all worked leaves nothing to recover: its journal goes. If any clean-up failed
   * (the unlock above all), or anything the journal recorded is not marked undone, the journal stays for {@code
   * snapstash recover}, and the error says so: a journal deleted while it still holds an unlock token leaves an
   * instance locked that nothing can release.
   */
  private static void endJournal(Journal journal, SnapstashException first, boolean cleanedUp) {
    List<Undo> open = cleanedUp ? journal.stillPending() : List.of();
    if (!open.isEmpty()) {
      log.warn("clean-up left {} undone; keeping the crash journal", open.stream().map(RecoverEngine::describe).toList());
    }
    if (cleanedUp && open.isEmpty()) {
      try {
        journal.finish();
        return;
      } catch (RuntimeException e) {
        first.addSuppressed(e);
      }
    }
    journal.close();
    first.addSuppressed(
        new SnapstashException(
            ErrorKind.PRECONDITION, "clean-up was incomplete; run `snapstash recover` to finish it"));
  }

  private static RuntimeException unwrap(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error err) {
      throw err;
    }
    return SnapstashException.internal("unexpected error during the copy: " + t, t);
  }
}
