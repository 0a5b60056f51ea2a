package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Artifact;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.RunReport;
import dev.snapstash.core.util.Digests;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.util.Pools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One backup run from its journal on: pre-copy, lock and drain, database and home copied under the lock, unlock,
 * the work after the unlock, the complete manifest, retention and notifications. Any failure goes to {@link
 * BackupFailure}. Holds the run's state, so the engine holds none.
 */
final class BackupRun {
  private static final Logger log = LoggerFactory.getLogger(BackupRun.class);
  private static final Duration STOP_COPIES_WAIT = Duration.ofSeconds(30);

  /**
   * What the copies under the lock produced.
   *
   * @param database the database's copy, which may still have work to do after the unlock (a dump from the
   *     snapshot pinned under the lock)
   * @param home the home's copy as of the unlock
   */
  record UnderLock(DatabaseStrategy.Pending database, CopyResult home) {}

  private final BackupSetup setup;
  private final DiskStrategy.Run disk;
  private final String tag;
  private final Manifest started;
  private final Map<String, Long> phases;
  private final Progress progress;
  private final long t0;
  private final BackupContext context;
  private final Journal journal;
  private final RemovePartialBackup partial;
  private final PreviousHome previousHome;
  private final BackupFailure failure;
  private Duration lockWindow;
  private Instant unlockedAt;
  private long bytesUnderLock;

  /** @param disk what copies the home in this run: the run the disk strategy's {@code begin} returned */
  BackupRun(
      BackupSetup setup,
      DiskStrategy.Run disk,
      String tag,
      Manifest started,
      Map<String, Long> phases,
      Progress progress,
      long t0,
      Journal journal,
      RemovePartialBackup partial,
      PreviousHome previousHome) {
    this.setup = setup;
    this.disk = disk;
    this.journal = journal;
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
            tag, setup.settings().store().dir(tag), previousHome.backupDir(), progress, journal,
            setup.settings().store().modes(), previousHome);
    this.failure = new BackupFailure(setup, disk, context, journal, partial, started);
  }

  Manifest execute() {
    Manifest done = capture();
    // The backup is complete and its journal gone: nothing from here on (an off-site copy, retention, a
    // notification) may reach the failure path, which would remove the complete backup as a partial one.
    Manifest archived = setup.archives().copy(done);
    afterSuccess(archived);
    return archived;
  }

  /** Everything up to the complete backup; a failure on the way unlocks and removes what was written. */
  private Manifest capture() {
    QuiesceLock lock = null;
    DatabaseStrategy.Run databaseRun = null;
    DatabaseStrategy.Pending pendingDatabase = null;
    try {
      long t = setup.nanoTime().getAsLong();
      disk.prepareBackup(context);
      databaseRun = setup.database().prepareBackup(context);
      phases.put("pre-copy", setup.millisSince(t));

      t = setup.nanoTime().getAsLong();
      lock = setup.quiescer().quiesce(progress, journal);
      phases.put("lock-and-drain", setup.millisSince(t));

      t = setup.nanoTime().getAsLong();
      UnderLock copies = copyUnderLock(lock, databaseRun);
      pendingDatabase = copies.database();
      phases.put("copy", setup.millisSince(t));
      FaultPoints.hit(FaultPoints.AFTER_COPY_UNDER_LOCK);

      t = setup.nanoTime().getAsLong();
      lock.succeeded();
      QuiesceLock held = lock;
      held.close();
      // Only once the unlock is answered: if close() throws, the failure path must try the unlock again, and
      // must keep the journal for recover if that fails too.
      lock = null;
      lockWindow = setup.locks() ? held.heldFor() : null;
      unlockedAt = setup.clock().instant();
      phases.put("unlock", setup.millisSince(t));
      if (lockWindow != null) {
        log.info("instance was locked for {} ms", lockWindow.toMillis());
      }

      FaultPoints.hit(FaultPoints.BEFORE_DATABASE_DUMP);
      t = setup.nanoTime().getAsLong();
      // The database's remaining work (a dump from the snapshot pinned under the lock) runs beside the home's
      // (the disk strategy's last step, then the checksums): one is pg_dump's, the other this JVM's walk.
      DatabaseStrategy.Pending dbWork = pendingDatabase;
      ExecutorService dumper = Executors.newSingleThreadExecutor(r -> new Thread(r, "database-after-unlock"));
      Future<CopyResult> dbDone = dumper.submit(() -> finishDatabase(dbWork));
      CopyResult home;
      CopyResult db;
      long checksums;
      try {
        home = disk.afterUnlock(context, copies.home());
        long tc = setup.nanoTime().getAsLong();
        home = withHomeChecksums(home);
        checksums = setup.millisSince(tc);
        db = dbDone.get();
      } catch (ExecutionException e) {
        throw BackupEngine.unwrap(e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SnapstashException(ErrorKind.INTERRUPTED, "the backup was interrupted after the unlock; the partial backup was removed", e);
      } finally {
        // A failure of the home's work stops the dump, and the clean-up waits for it: it deletes its directory.
        dbDone.cancel(true);
        Pools.stopAndWait(dumper, STOP_COPIES_WAIT);
      }
      pendingDatabase = null;
      phases.put("after-unlock", setup.millisSince(t) - checksums);
      phases.put("checksums", checksums);

      phases.put("total", setup.millisSince(t0));
      Manifest done =
          BackupManifests.complete(
              started,
              new BackupManifests.Outcome(home, db, phases, lockWindow, unlockedAt, bytesUnderLock, repaired()),
              setup.clock().instant());
      setup.settings().store().write(done);
      journal.done(partial);
      journal.finish();
      return done;
    } catch (RuntimeException e) {
      if (pendingDatabase != null) {
        try {
          pendingDatabase.close();
        } catch (RuntimeException cleanup) {
          e.addSuppressed(cleanup);
        }
      }
      throw failure.handle(e, lock);
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

  /** Database and home in parallel; the first failure stops the other before anything is cleaned up. */
  private UnderLock copyUnderLock(QuiesceLock lock, DatabaseStrategy.Run databaseRun) {
    AtomicReference<DatabaseStrategy.Pending> database = new AtomicReference<>();
    AtomicReference<CopyResult> homeCopy = new AtomicReference<>();
    boolean ok = false;
    ExecutorService pool = Executors.newFixedThreadPool(2, r -> new Thread(r, "copy"));
    try (LockProgress lp = new LockProgress(progress, lock, List.of("database", "home"))) {
      BackupContext underLock =
          new BackupContext(
              tag, context.backupDir(), context.previous(), lp, journal, context.modes(), context.previousCheck());
      ExecutorCompletionService<Void> ecs = new ExecutorCompletionService<>(pool);
      Callable<Void> db =
          () -> {
            database.set(databaseRun.capture(underLock));
            lp.report("database", 1, "consistent point fixed");
            return null;
          };
      Callable<Void> home =
          () -> {
            homeCopy.set(disk.backup(underLock));
            lp.report("home", 1, "done");
            return null;
          };
      // Without a lock (zero-downtime mode) the database is fixed first and the home snapshot taken after it:
      // a push is on disk before the database records it, so repositories from a later instant hold every
      // commit the database mentions. Refs the database does not know yet are what disaster.recovery repairs.
      List<Callable<Void>> tasks =
          setup.locks()
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
        throw BackupEngine.unwrap(e.getCause());
      } catch (InterruptedException e) {
        futures.forEach(f -> f.cancel(true));
        Thread.currentThread().interrupt();
        throw new SnapstashException(ErrorKind.INTERRUPTED, "the backup was interrupted; the instance was unlocked and the partial backup removed", e);
      }
      ok = true;
    } finally {
      Pools.stopAndWait(pool, STOP_COPIES_WAIT);
      // Only now is the database thread surely done: a snapshot it pinned after the failure is released too.
      if (!ok && database.get() != null) {
        database.get().close();
      }
    }
    UnderLock copies = new UnderLock(database.get(), homeCopy.get());
    bytesUnderLock =
        copies.home().bytesTransferred()
            + (copies.database().done() ? copies.database().finish().bytesTransferred() : 0);
    return copies;
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
      List<Artifact> artifacts = new ArrayList<>(home.artifacts());
      artifacts.add(new Artifact(HomeChecksums.FILE, Files.size(list), Digests.sha256(list)));
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

  private void afterSuccess(Manifest done) {
    BackupEngine.Settings settings = setup.settings();
    if (settings.retentionAfterBackup() && !settings.retention().isEmpty()) {
      long t = setup.nanoTime().getAsLong();
      try {
        new Pruner(settings.store()).prune(settings.retention(), false, Progress.NONE);
      } catch (RuntimeException e) {
        // Any failure, a bug's included: the backup is complete, and retention runs again after the next one.
        log.warn("retention after the backup failed (the backup itself is complete): {}", e.getMessage());
      }
      phases.put("retention", setup.millisSince(t));
    }
    // A failed off-site copy is reported as a failure: the run's exit code says so too, and nobody must learn
    // only at restore time that the copy they counted on is not there.
    String archiveError = Archives.failure(done).map(Throwable::getMessage).orElse(null);
    setup.notifications().send(
        new RunReport(
            "backup", settings.instanceName(), tag, archiveError == null, done.startedAt(),
            Duration.ofMillis(done.totalMillis()), lockWindow, done.bytes(), archiveError));
  }
}
