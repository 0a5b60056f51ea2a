package dev.snapstash.core.engine;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.RunReport;
import dev.snapstash.core.util.PrivateFiles;
import dev.snapstash.core.util.Tags;
import dev.snapstash.core.util.Trees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes one backup, in the order the Bitbucket protocol requires: validate everything before locking ({@link
 * Preflight}); pre-copy while live; lock and drain; database and home copies in parallel; unlock; only then
 * finalise, apply retention and notify ({@link BackupRun}). Every failure after the lock cancels the task, unlocks,
 * and removes the partial backup before the error is rethrown ({@link BackupFailure}); clean-up errors are
 * attached to the first error, never swallowed.
 *
 * <p>The engine never branches on a strategy's kind: it calls the SPI verbs in order.
 */
public final class BackupEngine {
  private static final Logger log = LoggerFactory.getLogger(BackupEngine.class);
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

  private final BackupSetup setup;
  private final Preflight preflight;

  public BackupEngine(
      Settings settings,
      Quiescer quiescer,
      DiskStrategy disk,
      DatabaseStrategy database,
      List<Notifier> notifiers,
      Clock clock,
      LongSupplier nanoTime) {
    this(settings, quiescer, disk, database, notifiers, List.of(), clock, nanoTime);
  }

  /**
   * @param archives where each complete backup is copied after the unlock, in this order
   */
  public BackupEngine(
      Settings settings,
      Quiescer quiescer,
      DiskStrategy disk,
      DatabaseStrategy database,
      List<Notifier> notifiers,
      List<ArchiveDestination> archives,
      Clock clock,
      LongSupplier nanoTime) {
    this.setup =
        new BackupSetup(
            settings, quiescer, disk, database, new Notifications(notifiers),
            new Archives(archives, settings.store(), nanoTime), clock, nanoTime);
    this.preflight = new Preflight(setup);
  }

  /** Everything {@code snapstash check} and the backup's preflight look at. Changes nothing. */
  public Findings check() {
    return preflight.check();
  }

  /**
   * Runs one backup and returns its final manifest; throws after cleaning up if anything fails. Copies to archive
   * destinations that failed are no exception: they are in the manifest ({@link Manifest#failedArchives()}), and
   * {@link Archives#failure} is the error to end with.
   */
  public Manifest backup(Progress progress) {
    Settings settings = setup.settings();
    DiskStrategy disk = setup.disk();
    Instant startedAt = setup.clock().instant();
    long t0 = setup.nanoTime().getAsLong();
    Map<String, Long> phases = new LinkedHashMap<>();
    try {
      // Before the run guard: its lock file is the first thing a run writes into the root.
      Findings root = new Findings();
      if (!RootModes.check(settings.store(), root)) {
        throw Preflight.failure(root);
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
      setup.notifications().send(
          new RunReport(
              "backup", settings.instanceName(), null, false, startedAt, Duration.ofNanos(setup.nanoTime().getAsLong() - t0), null, 0, e.getMessage()));
      throw e;
    }
  }

  /** The preflight, then the run; the disk strategy's early reading goes on beside the preflight. */
  private Manifest checkAndRun(
      Progress progress, Instant startedAt, long t0, Map<String, Long> phases, PreviousHome previous,
      DiskStrategy.Run diskRun) {
    Settings settings = setup.settings();
    Findings findings = check();
    for (Findings.Finding finding : findings.all()) {
      log.debug("preflight: {}: {}", finding.subject(), finding.message());
    }
    if (findings.hasProblems()) {
      throw Preflight.failure(findings);
    }
    for (Findings.Finding w : findings.warnings()) {
      log.warn("{}: {}", w.subject(), w.message());
    }
    int tightened = settings.store().applyModes();
    if (tightened > 0) {
      log.info("gave {} backup(s) under {} the modes {}", tightened, settings.store().root(), settings.store().modes().describe());
    }
    phases.put("preflight", setup.millisSince(t0));
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
    return new BackupRun(setup, diskRun, tag, manifest, phases, progress, t0, journal, partial, previous).execute();
  }

  private String freeTag(Instant at) {
    Instant t = at;
    String tag = Tags.tag(setup.settings().instanceName(), t);
    // Two runs within one second (a retry right after a failure) must not share a directory.
    while (Files.exists(setup.settings().store().dir(tag))) {
      t = t.plusSeconds(1);
      tag = Tags.tag(setup.settings().instanceName(), t);
    }
    return tag;
  }

  private Manifest startManifest(String tag, Instant startedAt) {
    Quiescer quiescer = setup.quiescer();
    Manifest m =
        BackupManifests.started(
            tag, startedAt, setup.settings(), quiescer.name(), setup.disk().name(), setup.database().name(),
            quiescer.applicationVersion(), quiescer.applicationNodes());
    setup.settings().store().write(m);
    return m;
  }

  /** An exception from a worker thread as the run's error: unchecked as it was, checked wrapped as INTERNAL. */
  static RuntimeException unwrap(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error err) {
      throw err;
    }
    return SnapstashException.internal("unexpected error during the copy: " + t, t);
  }
}
