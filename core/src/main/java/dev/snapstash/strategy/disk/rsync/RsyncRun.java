package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.strategy.disk.HomeCopy;
import dev.snapstash.strategy.disk.RsyncCommands;
import dev.snapstash.strategy.disk.RsyncOutput;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.home.HomeIndex;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One backup by {@link RsyncDiskStrategy}, from {@link RsyncDiskStrategy#begin} to {@link #close}: the change
 * tracker, the plan of the new home and what the pre-copy left for the pass under the lock. Everything here lives
 * as long as one backup, so two backups by one strategy object never see each other's state.
 */
final class RsyncRun implements DiskStrategy.Run {
  private static final Logger log = LoggerFactory.getLogger(RsyncRun.class);
  private static final String NAME = "rsync";

  private final Path home;
  private final List<String> excludes;
  /** The excludes as one string: as recorded in the manifest, and as the key of a {@link HomeIndex}. */
  private final String excludesText;
  private final boolean linkDest;
  private final boolean btrfsClones;
  private final boolean preCopy;
  private final boolean trackChanges;
  private final int parallel;
  private final ProcessRunner runner;
  private final TrackedDelta trackedDelta;
  private final PreCopyPlans plans;
  /** From {@link #prepareBackup} to {@link #backup}. */
  private HomeChangeTracker tracker;

  /** What the pre-copy compared, for the manifest. */
  private String preCopyKind = "the whole home";

  /** How this run's new home started out; null until {@link #startHome}. */
  private NewHome newHome;

  /** Every directory a change record of this run named, and every new subtree: left out of its index. */
  private final java.util.Set<String> changedDirectories = new java.util.HashSet<>();

  private final java.util.Set<String> newSubtrees = new java.util.HashSet<>();

  /** Whether the delta under the lock was tracked: the only runs whose index is written. */
  private boolean tracked;

  /** What the pre-copy found, for the sizes when the delta under the lock visits only part of the home. */
  private RsyncOutput preCopied;

  /** The tracker whose record the delta used, closed after the unlock (or on failure). */
  private HomeChangeTracker collected;

  /** A live catch-up that did not finish, copied again under the lock. */
  private Changes unfinished;

  /** Files still sharing the previous backup's damaged copy after the pre-copy: copied afresh under the lock. */
  private List<String> unrepaired = List.of();

  /** Why this run's delta walks the whole home, for the manifest and the log. */
  private String untracked = "tracking off (disk.rsync.track-changes)";

  /** When the pre-copy (and the tracker, before it) started: every change since has a later change time. */
  private Instant trackingSince;

  /** The tracker started by {@link #startReading}, walking the home beside the preflight; null if none was. */
  private java.util.concurrent.CompletableFuture<HomeChangeTracker.Result> early;

  /** When {@link #early} started, as {@link #trackingSince} has it. */
  private Instant earlySince;

  /**
   * The barrier directory of {@link #early}, {@code .barrier-<random>} in the backup root, since the backup's own
   * directory does not exist before the preflight has passed. Deleted at {@link #close}; one left by a killed run
   * is deleted by the next run's {@link #startReading}.
   */
  private Path earlyBarriers;

  private static final String EARLY_BARRIERS = ".barrier-";

  /** The strategy's count of open walks beside the preflight, which this run's walk is in until {@link #close}. */
  private final java.util.concurrent.atomic.AtomicInteger earlyWalks;
  /** Whether this run's walk is counted in {@link #earlyWalks}: counted once, uncounted once. */
  private boolean earlyWalkCounted;

  /** How long the tracker may take to read the events queued before the lock was drained. */
  private static final Duration BARRIER_TIMEOUT = Duration.ofSeconds(10);

  RsyncRun(RsyncDiskStrategy strategy) {
    this.home = strategy.home;
    this.excludes = strategy.excludes;
    this.excludesText = strategy.excludesText;
    this.linkDest = strategy.linkDest;
    this.btrfsClones = strategy.btrfsClones;
    this.preCopy = strategy.preCopy;
    this.trackChanges = strategy.trackChanges;
    this.parallel = strategy.parallel;
    this.runner = strategy.runner;
    this.earlyWalks = strategy.earlyWalks;
    this.trackedDelta = new TrackedDelta(home, excludes, runner);
    this.plans = new PreCopyPlans(home, excludes, parallel, runner);
  }

  @Override
  public void prepareBackup(BackupContext context) {
    startHome(context);
    if (newHome.linkBasis().isPresent()) {
      // A hard link moves the change time of the previous copy's inode: the check must have compared it first.
      context.previousCheck().awaitStamps();
    }
    if (!preCopy) {
      // Found now, before the lock; copied afresh under it, after the copy that links (a few files).
      unrepaired = context.previousCheck().damaged();
      return;
    }
    // A second early: change times come from the kernel's coarse clock, which may lag this one slightly.
    trackingSince = Instant.now().minusSeconds(1);
    if (trackChanges) {
      startTracking(context);
    }
    log.info("pre-copying the home while the instance is live");
    Optional<PreCopyPlans.PreCopied> planned = plans.fromIndex(context, tracker, newHome, trackedDelta);
    planned.ifPresent(p -> preCopyKind = p.kind());
    preCopied =
        planned.map(PreCopyPlans.PreCopied::out)
            .or(() -> plans.inShares(context, newHome))
            .orElseGet(() -> copy(context, "pre-copy", true));
    unrepaired = copyDamagedAfresh(context, context.previousCheck().damaged(), true);
    if (tracker != null && preCopied.exitCode == RsyncCommands.PARTIAL) {
      stopTracking("the pre-copy could not copy everything (rsync exit 23)");
    }
    if (tracker != null) {
      catchUp(context);
    }
  }

  /**
   * Copies afresh, from the home, the files whose copy in the previous backup is damaged ({@link
   * dev.snapstash.core.spi.PreviousHomeCheck}): the copy just made shares them with that backup, hard-linked or kept
   * from the snapshot, because their size and modification time still match the home's. Returns those still shared
   * afterwards, which a live pass can leave (a file rsync could not read just then), for the pass under the lock.
   */
  private List<String> copyDamagedAfresh(BackupContext context, List<String> damaged, boolean live) {
    Optional<Path> previous = context.previous().map(p -> p.resolve("home"));
    if (damaged.isEmpty() || previous.isEmpty() || (newHome.linkBasis().isEmpty() && !newHome.cloned())) {
      return List.of();
    }
    Path work = TrackedDelta.workDir(context);
    Path list = work.resolve("damaged.list");
    try {
      Files.createDirectories(work);
      Files.writeString(list, RsyncCommands.listFiles(damaged));
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + list + ": " + e.getMessage(), e);
    }
    Command command = RsyncCommands.copyAfresh(home, context.homeDir(), list, excludes);
    if (live) {
      command = command.alsoOkOn(RsyncCommands.VANISHED, RsyncCommands.PARTIAL);
    }
    long t0 = System.nanoTime();
    run(command, live ? "pre-copy" : "home", Progress.NONE);
    List<String> shared =
        damaged.stream().filter(p -> SharedInodes.sameFile(context.homeDir().resolve(p), previous.get().resolve(p))).toList();
    log.info(
        "copied {} file(s) afresh from the home rather than share the previous backup's damaged copies ({} ms){}",
        damaged.size() - shared.size(), (System.nanoTime() - t0) / 1_000_000,
        shared.isEmpty() ? "" : "; " + shared.size() + " still shared, copied again under the lock");
    return shared;
  }

  /** Remembers what a change record named, to keep it out of this backup's index. */
  private void remember(Changes changes) {
    changedDirectories.addAll(changes.directories());
    newSubtrees.addAll(changes.subtrees());
  }

  /**
   * Gives up the tracked delta for this run. A live rsync that exits 23 hit an error other than a vanished file:
   * a directory removed during the walk, which the tracker has recorded, or one it cannot read, which it has not;
   * and rsync also skips all deletions after such an error. Only a walk of the whole home under the lock then
   * makes the copy right, or fails loudly if the error persists.
   */
  private void stopTracking(String why) {
    log.info("{}; the delta under the lock walks the whole home", why);
    untracked = why;
    tracker.close();
    tracker = null;
  }

  /**
   * Copies, still live, what changed during the pre-copy: a long pre-copy under push load leaves thousands of
   * changed directories, and copying them now leaves the lock only what changes during this short pass.
   */
  private void catchUp(BackupContext context) {
    Optional<Changes> changes =
        tracker.checkpoint(BARRIER_TIMEOUT).filter(c -> !ChangeAlgebra.coversWholeHome(c));
    if (changes.isEmpty()) {
      stopTracking("the change record was incomplete or overflowed after the pre-copy");
      return;
    }
    remember(changes.get());
    long t0 = System.nanoTime();
    RsyncOutput out = trackedDelta.copy(context, changes.get(), true, newHome.linkBasis(), preCopied, trackingSince);
    log.debug("caught up live with {} in {} ms", changes.get(), (System.nanoTime() - t0) / 1_000_000);
    if (out.exitCode == RsyncCommands.PARTIAL) {
      // rsync skipped its deletions after the error: the lock copies these directories again, deletions and all,
      // and fails loudly if one of them cannot be read.
      log.info("the live catch-up could not copy everything (rsync exit 23); the lock copies its {} again", changes.get());
      unfinished = changes.get();
    }
  }

  private void startHome(BackupContext context) {
    newHome = NewHome.make(context, linkDest, btrfsClones, excludesText, runner);
  }

  /**
   * Starts the tracker's walk of the home, which only reads it, in a thread of its own: on the benchmark home it
   * takes 1.6 s idle and several seconds under push load, and the preflight's checks mostly wait (an HTTP round
   * trip, a database login, the tools' versions). {@link #prepareBackup} then takes the tracker over.
   */
  void startReading(Path backupRoot) {
    if (!preCopy || !trackChanges || early != null) {
      return;
    }
    try {
      // Under the run guard no other run uses the root, so any such directory is a killed run's (or, in one JVM,
      // a failed preflight's whose walk has not ended yet: its tracker is discarded anyway).
      try (java.util.stream.Stream<Path> s = Files.list(backupRoot)) {
        for (Path stale : s.filter(p -> p.getFileName().toString().startsWith(EARLY_BARRIERS)).toList()) {
          Trees.deleteRecursively(stale);
        }
      }
      earlyBarriers = Files.createTempDirectory(backupRoot, EARLY_BARRIERS);
    } catch (IOException | RuntimeException e) {
      log.debug("not walking the home beside the preflight: cannot make a barrier directory: {}", e.getMessage());
      return;
    }
    earlySince = Instant.now().minusSeconds(1);
    // Digests only serve a new home that is a btrfs snapshot, which is decided after the preflight; taking them
    // when it turns out not to be costs a little CPU, and nothing else.
    boolean digest = linkDest && btrfsClones;
    Path barriers = earlyBarriers;
    early = java.util.concurrent.CompletableFuture.supplyAsync(
        () -> HomeChangeTracker.start(home, RsyncCommands.excludedDirectories(excludes), barriers, digest),
        task -> {
          Thread walker = new Thread(task, "home-walk");
          walker.setDaemon(true);
          walker.start();
        });
    earlyWalks.incrementAndGet();
    earlyWalkCounted = true;
  }

  @Override
  public void close() {
    java.util.concurrent.CompletableFuture<HomeChangeTracker.Result> started = early;
    early = null;
    if (started != null) {
      // Not taken over (a failed preflight): close the tracker whenever its walk ends, without waiting for it.
      started.whenComplete((result, error) -> {
        if (result != null) {
          result.tracker().ifPresent(HomeChangeTracker::close);
        }
      });
    }
    // Deleted now, not when a walk not taken over ends: the CLI exits right after a failed preflight, which kills
    // the walk's daemon thread and would leave the directory in the backup root. The walk itself never writes
    // there (only the barriers of a tracker taken over do), and its tracker is discarded.
    if (earlyBarriers != null) {
      Trees.deleteRecursively(earlyBarriers);
    }
    earlyBarriers = null;
    if (earlyWalkCounted) {
      earlyWalkCounted = false;
      earlyWalks.decrementAndGet();
    }
    closeTrackers();
  }

  private void startTracking(BackupContext context) {
    Path work = TrackedDelta.workDir(context);
    try {
      Trees.deleteRecursively(work);
      context.modes().createDirectories(work);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + work + ": " + e.getMessage(), e);
    }
    HomeChangeTracker.Result started;
    if (early != null) {
      try {
        started = early.get();
      } catch (java.util.concurrent.ExecutionException e) {
        started = HomeChangeTracker.Result.off("the walk of the home failed: " + e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while walking the home; nothing was locked", e);
      }
      early = null;
      trackingSince = earlySince;
    } else {
      // The barrier directory holds nothing else: any file made there counts as a barrier.
      Path barriers = work.resolve("barrier");
      try {
        context.modes().createDirectories(barriers);
      } catch (IOException e) {
        throw SnapstashException.storage("cannot create " + work + ": " + e.getMessage(), e);
      }
      started = HomeChangeTracker.start(home, RsyncCommands.excludedDirectories(excludes), barriers, newHome.subvolume());
    }
    HomeChangeTracker.Result result = started;
    result.tracker().ifPresentOrElse(
        t -> tracker = t,
        () -> {
          untracked = result.whyNot();
          log.info("not tracking changes to the home ({}); the delta under the lock walks the whole home", untracked);
        });
  }

  @Override
  public CopyResult backup(BackupContext context) {
    if (newHome == null) {
      startHome(context);
    }
    Optional<Changes> changes = Optional.empty();
    if (tracker != null) {
      long t0 = System.nanoTime();
      changes = tracker.collect(BARRIER_TIMEOUT);
      collected = tracker; // closed after the unlock
      tracker = null;
      log.debug("change record collected in {} ms", (System.nanoTime() - t0) / 1_000_000);
      if (changes.isPresent() && unfinished != null) {
        changes = Optional.of(HomeChangeTracker.merge(home, changes.get(), unfinished));
      }
      if (changes.isEmpty()) {
        untracked = "the change record was incomplete";
      } else if (ChangeAlgebra.coversWholeHome(changes.get())) {
        untracked = "events overflowed for the whole home";
        changes = Optional.empty();
      } else {
        changes = Optional.of(HomeChangeTracker.withHome(home, changes.get(), trackingSince));
      }
    }
    RsyncOutput out;
    String delta;
    try {
      if (changes.isPresent()) {
        remember(changes.get());
        tracked = true;
        out = trackedDelta.copy(context, changes.get(), false, newHome.linkBasis(), preCopied, trackingSince);
        delta = "tracked: " + changes.get();
      } else {
        if (trackingSince != null && newHome.linkBasis().isPresent()) {
          // The pre-copy linked unchanged files to the previous backup; an attribute change since would be applied
          // by this rsync to the shared inode, and so to the previous backup too.
          long t0 = System.nanoTime();
          int unshared = SharedInodes.unshareEverywhere(home, context.homeDir(), trackingSince, parallel + 1);
          log.debug(
              "{} file(s) hard-linked to the previous backup changed since the pre-copy began; copying them afresh ({} ms)",
              unshared, (System.nanoTime() - t0) / 1_000_000);
        }
        if (!preCopy && newHome.linkBasis().isPresent()) {
          context.previousCheck().awaitStamps(); // at once when prepareBackup ran, as the engine's runs do
        }
        out = copy(context, "home", false);
        FaultPoints.hit(FaultPoints.DURING_HOME_COPY);
        out.addTransfer(run(RsyncCommands.repositoryMetadata(home, context.homeDir(), excludes), "home", Progress.NONE));
        delta = preCopy ? "whole home: " + untracked : "whole home: no pre-copy";
      }
      if (!unrepaired.isEmpty()) {
        List<String> still = copyDamagedAfresh(context, unrepaired, false);
        if (!still.isEmpty()) {
          throw SnapstashException.storage(
              "cannot replace " + still.size() + " damaged file(s) shared with the previous backup, such as "
                  + still.get(0) + "; check the backup root " + context.backupDir().getParent(), null);
        }
      }
    } finally {
      Trees.deleteRecursively(TrackedDelta.workDir(context));
    }
    log.debug("home delta under the lock: {}", delta);
    return new CopyResult(
        NAME,
        out.totalBytes,
        out.files,
        out.transferredBytes,
        List.of(),
        Map.of(
            "excludes", excludesText,
            "link-dest", String.valueOf(linkDest),
            "start", newHome.description(),
            "pre-copy", preCopy ? preCopyKind : "none",
            "delta", delta));
  }

  private RsyncOutput copy(BackupContext context, String phase, boolean live) {
    Path target = context.homeDir();
    try {
      NewHome.create(context);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + target + ": " + e.getMessage(), e);
    }
    // Hard links are made by the first pass only: the pre-copy already linked every unchanged file, and linking
    // again under the lock makes rsync compare each file against two trees, doubling the locked walk.
    boolean firstPass = live || !preCopy;
    Optional<Path> previous = firstPass ? newHome.linkBasis() : Optional.empty();
    Command command = RsyncCommands.copy(home, target, previous, excludes);
    if (live) {
      command = command.alsoOkOn(RsyncCommands.VANISHED, RsyncCommands.PARTIAL);
    }
    return run(command, phase, context.progress());
  }

  private RsyncOutput run(Command command, String phase, Progress progress) {
    return HomeCopy.rsync(runner, command, phase, progress);
  }

  @Override
  public CopyResult afterUnlock(BackupContext context, CopyResult underLock) {
    if (tracked && newHome.subvolume() && collected != null) {
      try {
        java.util.Set<String> unknown = new java.util.HashSet<>(changedDirectories);
        unknown.addAll(
            ChangeAlgebra.removedFromCopy(
                collected.digests().keySet(), changedDirectories, HomeChangeTracker.isDirectoryIn(context.homeDir())));
        int listed =
            HomeIndex.write(context.backupDir(), excludesText, collected.digests(), unknown, newSubtrees, context.modes());
        log.debug("{} lists {} directories for the next backup's pre-copy", HomeIndex.FILE, listed);
      } catch (IOException e) {
        log.warn("could not write {} (the next backup's pre-copy compares the whole home): {}", HomeIndex.FILE, e.getMessage());
      }
    }
    closeTrackers();
    return underLock;
  }

  private void closeTrackers() {
    for (HomeChangeTracker t : new HomeChangeTracker[] {tracker, collected}) {
      if (t != null) {
        t.close();
      }
    }
    tracker = null;
    collected = null;
  }

  @Override
  public void cleanupIncomplete(BackupContext context) {
    closeTrackers();
    Trees.deleteRecursively(TrackedDelta.workDir(context));
    Trees.deleteRecursively(context.homeDir());
  }
}
