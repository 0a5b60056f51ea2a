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
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.Natives;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies the home with rsync in two phases. Before the lock, with the instance live, a full copy into the new
 * backup (hard-linking unchanged files against the previous backup, so it costs only what changed); under the
 * lock, the delta since the pre-copy. The delta visits only the directories that changed since the pre-copy
 * started, as recorded by a {@link HomeChangeTracker}, so the locked window is proportional to what changed in
 * the last minutes, not to the size of the home; where changes cannot be tracked, it is the same command as the
 * pre-copy again, which walks the whole home. A second pass under the lock compares the repositories' refs by
 * content (see {@link RsyncCommands#repositoryMetadata}).
 *
 * <p>A file-by-file copy is never atomic, so this strategy needs a quiescer that really locks.
 */
public final class RsyncDiskStrategy implements DiskStrategy {
  private static final Logger log = LoggerFactory.getLogger(RsyncDiskStrategy.class);

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
  /** From {@link #prepareBackup} to {@link #backup} of one run; the only state kept between the two. */
  private HomeChangeTracker tracker;

  /**
   * @param home the Bitbucket home
   * @param extraExcludes the operator's own patterns, added to {@link RsyncCommands#DISPOSABLE}
   * @param excludeEmbeddedDatabase whether a database strategy copies the embedded H2 files itself
   */
  public RsyncDiskStrategy(
      Path home,
      List<String> extraExcludes,
      boolean excludeEmbeddedDatabase,
      boolean linkDest,
      boolean btrfsClones,
      boolean preCopy,
      boolean trackChanges,
      int parallel,
      ProcessRunner runner) {
    this.home = home;
    List<String> all = new ArrayList<>(RsyncCommands.DISPOSABLE);
    if (excludeEmbeddedDatabase) {
      all.addAll(RsyncCommands.EMBEDDED_DATABASE);
    }
    all.addAll(extraExcludes);
    this.excludes = List.copyOf(all);
    this.excludesText = String.join(" ", excludes);
    this.linkDest = linkDest;
    this.btrfsClones = btrfsClones;
    this.preCopy = preCopy;
    this.trackChanges = trackChanges;
    if (parallel < 1 || parallel > 16) {
      throw SnapstashException.config("disk.rsync.parallel must be between 1 and 16, not " + parallel);
    }
    this.parallel = parallel;
    this.runner = runner;
  }

  @Override
  public String name() {
    return "rsync";
  }

  @Override
  public java.util.Set<dev.snapstash.core.spi.Capability> capabilities() {
    return java.util.Set.of(dev.snapstash.core.spi.Capability.COPIES_HOME);
  }

  public List<String> excludes() {
    return excludes;
  }

  @Override
  public void check(Findings findings) {
    try {
      String out = runner.run(RsyncCommands.version()).stdout();
      findings.ok("rsync", out.lines().findFirst().orElse("rsync").strip());
    } catch (SnapstashException e) {
      findings.problem("rsync", "rsync is not installed or does not run (install the rsync package): " + e.getMessage());
    }
    if (!Files.isDirectory(home)) {
      findings.problem("instance.home", home + " is not a directory; fix instance.home");
    } else if (!Files.isReadable(home)) {
      findings.problem("instance.home", home + " is not readable by this user; run as the Bitbucket user or root");
    } else {
      findings.ok("instance.home", home.toString());
      if (preCopy && trackChanges) {
        // Not a problem either way: without tracking the delta walks the whole home, as it always did.
        Optional<String> untrusted = HomeChangeTracker.untrustedMount(home);
        findings.ok(
            "disk.rsync.track-changes",
            untrusted
                .map(why -> "off for this home (" + why + "); the delta under the lock walks the whole home")
                .orElse("on: the delta under the lock visits the directories that changed"));
        // In a backup's preflight the run's own walk, started beside it, opens inotify and lists the home anyway
        // (and logs which path each took): a second walk to count the directories would only compete with it.
        if (untrusted.isEmpty() && early == null) {
          TrackerCheck.check(home, RsyncCommands.excludedDirectories(excludes), Natives.forcedOff(), findings);
        }
      } else {
        String off = preCopy ? "disk.rsync.track-changes is false" : "disk.rsync.pre-copy is false";
        findings.ok("inotify", "not used (" + off + ")");
        findings.ok("listing", "not used (" + off + ")");
      }
    }
  }

  @Override
  public void prepareBackup(BackupContext context) {
    startHome(context);
    if (linkBasis.isPresent()) {
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
    preCopied =
        preCopyFromIndex(context)
            .or(() -> preCopyInShares(context))
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
   * The pre-copy into a snapshot of the previous backup that has an index: only the directories whose digest, taken
   * by the tracker's walk a moment ago, differs from the index (see {@link HomeIndex}). Empty when there is no
   * index to compare with, or a directory to copy cannot be named to rsync.
   */
  private Optional<RsyncOutput> preCopyFromIndex(BackupContext context) {
    Optional<Map<String, HomeIndex.Dir>> index = previousIndex.join();
    if (tracker == null || !cloned || index.isEmpty()) {
      return Optional.empty();
    }
    Map<String, HomeIndex.Dir> previous = index.get();
    java.util.SortedSet<String> differ = new java.util.TreeSet<>();
    tracker.digests().forEach((dir, digest) -> {
      if (!digest.known() || !digest.equals(previous.get(dir))) {
        differ.add(dir);
      }
    });
    HomeChangeTracker.Changes changes = new HomeChangeTracker.Changes(differ, new java.util.TreeSet<>());
    if (!HomeChangeTracker.nameable(changes)) {
      return Optional.empty();
    }
    preCopyKind = differ.size() + " of " + tracker.digests().size() + " directories differ from the previous backup's index";
    log.info("pre-copy: {}", preCopyKind);
    RsyncOutput out = trackedDelta(context, changes, true);
    if (out.exitCode == RsyncCommands.PARTIAL) {
      // Most often a directory of the list removed while rsync read it (git gc after a push removes emptied
      // loose-object directories): rsync then reports an error and skips its deletions. The tracker saw the
      // removal, and a second pass over the same directories, cheap here, finds it gone and deletes what it must.
      // A directory that cannot be read fails again, and tracking stops as before.
      log.info("pre-copy: rsync could not copy everything (exit 23); copying the {} directories again", differ.size());
      out = trackedDelta(context, changes, true);
    }
    return Optional.of(out);
  }

  /**
   * Copies afresh, from the home, the files whose copy in the previous backup is damaged ({@link
   * dev.snapstash.core.spi.PreviousHomeCheck}): the copy just made shares them with that backup, hard-linked or kept
   * from the snapshot, because their size and modification time still match the home's. Returns those still shared
   * afterwards, which a live pass can leave (a file rsync could not read just then), for the pass under the lock.
   */
  private List<String> copyDamagedAfresh(BackupContext context, List<String> damaged, boolean live) {
    Optional<Path> previous = context.previous().map(p -> p.resolve("home"));
    if (damaged.isEmpty() || previous.isEmpty() || (linkBasis.isEmpty() && !cloned)) {
      return List.of();
    }
    Path work = workDir(context);
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
  private void remember(HomeChangeTracker.Changes changes) {
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
    Optional<HomeChangeTracker.Changes> changes =
        tracker.checkpoint(BARRIER_TIMEOUT).filter(c -> !c.subtrees().contains(""));
    if (changes.isEmpty()) {
      stopTracking("the change record was incomplete or overflowed after the pre-copy");
      return;
    }
    remember(changes.get());
    long t0 = System.nanoTime();
    RsyncOutput out = trackedDelta(context, changes.get(), true);
    log.debug("caught up live with {} in {} ms", changes.get(), (System.nanoTime() - t0) / 1_000_000);
    if (out.exitCode == RsyncCommands.PARTIAL) {
      // rsync skipped its deletions after the error: the lock copies these directories again, deletions and all,
      // and fails loudly if one of them cannot be read.
      log.info("the live catch-up could not copy everything (rsync exit 23); the lock copies its {} again", changes.get());
      unfinished = changes.get();
    }
  }

  /** Where the repositories are, relative to the home: {@code shared/data/repositories} since Bitbucket 4. */
  private Optional<String> repositoriesDir() {
    return Stream.of("shared/data/repositories", "data/repositories")
        .filter(r -> Files.isDirectory(home.resolve(r), LinkOption.NOFOLLOW_LINKS))
        .findFirst();
  }

  /**
   * The pre-copy as several rsync commands at once: the repositories dealt round-robin into {@code parallel}
   * shares, and everything else beside them. One rsync is a chain of three processes that spend most of their
   * time waiting for each other and for metadata calls, so on a home of many small files a few at once finish
   * much sooner even on two cores (docs/performance.md). Empty when there are too few repositories to share out.
   * Hard links between files of different shares are not seen by {@code -H}: each file is still hard-linked to
   * its previous copy, a new one is stored once per share.
   */
  private Optional<RsyncOutput> preCopyInShares(BackupContext context) {
    Optional<String> repositories = repositoriesDir();
    if (parallel < 2 || repositories.isEmpty() || excludedAnywhereAbove(repositories.get())) {
      return Optional.empty();
    }
    List<String> repos = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(home.resolve(repositories.get()))) {
      for (Path e : entries) {
        if (Files.isDirectory(e, LinkOption.NOFOLLOW_LINKS)) {
          repos.add(repositories.get() + "/" + e.getFileName());
        }
      }
    } catch (IOException e) {
      return Optional.empty(); // the single rsync reports what is wrong
    }
    if (repos.size() < 2 * parallel) {
      return Optional.empty();
    }
    Collections.sort(repos);
    Path target = context.homeDir();
    Path work = workDir(context);
    Optional<Path> previous = linkBasis;
    List<Command> commands = new ArrayList<>();
    try {
      createHome(context);
      context.modes().createDirectories(work);
      if (cloned) {
        removeGoneRepositories(target.resolve(repositories.get()), repos);
      }
      commands.add(RsyncCommands.copyAllButRepositories(home, target, previous, repositories.get(), excludes));
      for (int i = 0; i < parallel; i++) {
        List<String> share = new ArrayList<>();
        for (int j = i; j < repos.size(); j += parallel) {
          share.add(repos.get(j));
        }
        Path list = work.resolve("pre-copy-" + i + ".list");
        context.modes().writeString(list, RsyncCommands.listEntries(share, true));
        commands.add(RsyncCommands.copyRepositories(home, target, previous, list, excludes));
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot prepare the pre-copy in " + target + ": " + e.getMessage(), e);
    }
    log.debug("pre-copying in {} rsync commands at once ({} repositories in {} shares)", commands.size(), repos.size(), parallel);
    Progress[] slots = Shares.of(context.progress(), "pre-copy", commands.size());
    ExecutorService pool = Executors.newFixedThreadPool(commands.size());
    List<Future<RsyncOutput>> futures = new ArrayList<>();
    try {
      for (int i = 0; i < commands.size(); i++) {
        Command c = commands.get(i).alsoOkOn(RsyncCommands.VANISHED, RsyncCommands.PARTIAL);
        Progress slot = slots[i];
        futures.add(pool.submit(() -> run(c, "pre-copy", slot)));
      }
      RsyncOutput total = RsyncOutput.empty();
      for (Future<RsyncOutput> f : futures) {
        total.add(f.get());
      }
      return Optional.of(total);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(
          ErrorKind.INTERRUPTED, "interrupted during the pre-copy", e);
    } finally {
      // The first failure (or an interrupt) stops the other shares: each kills its rsync when interrupted. Wait for
      // them: the clean-up that follows a failure must not race a dying copy.
      futures.forEach(f -> f.cancel(true));
      dev.snapstash.core.util.Pools.stopAndWait(pool, java.time.Duration.ofSeconds(30));
    }
  }

  /**
   * Deletes from a cloned home the repositories that the live home no longer has. The shares copy only the
   * repositories listed, and the command for the rest excludes every repository directory, which also keeps rsync
   * from deleting one: into an empty directory that loses nothing, into a snapshot of the previous backup it would
   * keep a deleted repository for ever.
   */
  private static void removeGoneRepositories(Path repositories, List<String> live) throws IOException {
    if (!Files.isDirectory(repositories, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    java.util.Set<String> names = new java.util.HashSet<>();
    live.forEach(r -> names.add(r.substring(r.lastIndexOf('/') + 1)));
    List<Path> gone = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(repositories)) {
      for (Path e : entries) {
        if (Files.isDirectory(e, LinkOption.NOFOLLOW_LINKS) && !names.contains(e.getFileName().toString())) {
          gone.add(e);
        }
      }
    }
    for (Path g : gone) {
      log.debug("repository {} is gone from the home; removing it from the cloned copy", g.getFileName());
      Trees.deleteRecursively(g);
    }
  }

  /**
   * Whether an exclude names the repositories directory or one of its parents. rsync applies excludes to the
   * entries of a {@code --files-from} list and below them, never to their parents, so the shares would copy
   * repositories that the single command leaves out.
   */
  private boolean excludedAnywhereAbove(String repositories) {
    List<String> asDirectories = new ArrayList<>();
    for (String e : excludes) {
      if (e.contains("**") || e.contains("?") || e.contains("[") || e.contains("\\")) {
        return true; // a pattern this check cannot read might name one of them: one rsync command is always right
      }
      asDirectories.add(e.endsWith("/") ? e : e + "/"); // without the slash it names directories too
    }
    java.util.function.Predicate<String> excluded = RsyncCommands.excludedDirectories(asDirectories);
    for (int slash = repositories.indexOf('/'); ; slash = repositories.indexOf('/', slash + 1)) {
      String dir = slash < 0 ? repositories : repositories.substring(0, slash);
      if (excluded.test(dir)) {
        return true;
      }
      if (slash < 0) {
        return false;
      }
    }
  }

  /**
   * The previous backup's {@link HomeIndex}, when this run's home is a snapshot of that backup's. Read beside the
   * tracker's walk: 80,000 lines are a quarter of a second idle, and more under load.
   */
  private java.util.concurrent.CompletableFuture<Optional<Map<String, HomeIndex.Dir>>> previousIndex =
      java.util.concurrent.CompletableFuture.completedFuture(Optional.empty());

  /** Whether this run's home is a btrfs subvolume: its index is then worth writing, for the next backup. */
  private boolean subvolumeHome;

  /** Every directory a change record of this run named, and every new subtree: left out of its index. */
  private final java.util.Set<String> changedDirectories = new java.util.HashSet<>();

  private final java.util.Set<String> newSubtrees = new java.util.HashSet<>();

  /** Whether the delta under the lock was tracked: the only runs whose index is written. */
  private boolean tracked;

  /** What the pre-copy compared, for the manifest. */
  private String preCopyKind = "the whole home";

  /** Whether {@link #startHome} ran for this run. */
  private boolean started;

  /** This run's {@code --link-dest} basis: the previous backup's home, unless the new home is a subvolume. */
  private Optional<Path> linkBasis = Optional.empty();

  /** Whether the new home is a snapshot of the previous backup's, to be brought up to date in place. */
  private boolean cloned;

  /** How the new home started out, for the manifest. */
  private String start = "an empty directory";

  /**
   * Makes the new backup's home a btrfs subvolume where the backup root is on btrfs (a snapshot of the previous
   * backup's home when it can), and otherwise leaves it to rsync, hard-linking against the previous backup. A
   * subvolume that cannot be made (no btrfs-progs, no permission) is logged and the hard links are used instead.
   */
  private void startHome(BackupContext context) {
    started = true;
    linkBasis = linkDest ? context.previous().map(p -> p.resolve("home")).filter(Files::isDirectory) : Optional.empty();
    start = linkBasis.isPresent() ? "hard links to the previous backup" : "an empty directory";
    Path target = context.homeDir();
    if (!linkDest || !btrfsClones || Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Optional<HomeClones.Plan> plan = HomeClones.plan(target, context.previous(), excludesText);
    if (plan.isEmpty()) {
      return;
    }
    try {
      context.modes().createDirectories(target.getParent());
      var made = runner.runAllowingFailure(plan.get().command(), l -> {});
      if (made.exitCode() != 0) {
        log.warn("could not make the new home {}: {}; hard-linking against the previous backup instead",
            plan.get().description(), made.stderrTail().strip());
        return;
      }
    } catch (IOException | RuntimeException e) {
      log.warn("could not make the new home {}: {}; hard-linking against the previous backup instead",
          plan.get().description(), e.getMessage());
      return;
    }
    log.info("the new backup's home is {}", plan.get().description());
    start = plan.get().description();
    cloned = plan.get().snapshot();
    subvolumeHome = true;
    linkBasis = Optional.empty();
    if (cloned) {
      Path previous = context.previous().get();
      previousIndex = java.util.concurrent.CompletableFuture.supplyAsync(
          () -> HomeIndex.read(previous, excludesText),
          task -> {
            Thread reader = new Thread(task, "home-index-reader");
            reader.setDaemon(true);
            reader.start();
          });
    }
  }

  /** What the pre-copy found, for the sizes when the delta under the lock visits only part of the home. */
  private RsyncOutput preCopied;

  /** The tracker whose record the delta used, closed after the unlock (or on failure). */
  private HomeChangeTracker collected;

  /** A live catch-up that did not finish, copied again under the lock. */
  private HomeChangeTracker.Changes unfinished;

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
   * directory does not exist before the preflight has passed. Deleted at {@link #endRun}; one left by a killed run
   * is deleted by the next run's {@link #startReading}.
   */
  private Path earlyBarriers;

  private static final String EARLY_BARRIERS = ".barrier-";

  /**
   * Starts the tracker's walk of the home, which only reads it, in a thread of its own: on the benchmark home it
   * takes 1.6 s idle and several seconds under push load, and the preflight's checks mostly wait (an HTTP round
   * trip, a database login, the tools' versions). {@link #prepareBackup} then takes the tracker over.
   */
  @Override
  public void startReading(Path backupRoot) {
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
  }

  @Override
  public void endRun() {
    java.util.concurrent.CompletableFuture<HomeChangeTracker.Result> started = early;
    early = null;
    if (started != null) {
      // Not taken over (a failed preflight): close the tracker whenever its walk ends, without waiting for it.
      Path barriers = earlyBarriers;
      started.whenComplete((result, error) -> {
        if (result != null) {
          result.tracker().ifPresent(HomeChangeTracker::close);
        }
        Trees.deleteRecursively(barriers);
      });
    } else if (earlyBarriers != null) {
      Trees.deleteRecursively(earlyBarriers);
    }
    earlyBarriers = null;
    closeTrackers();
  }

  private void startTracking(BackupContext context) {
    Path work = workDir(context);
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
      started = HomeChangeTracker.start(home, RsyncCommands.excludedDirectories(excludes), barriers, subvolumeHome);
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
    if (!started) {
      startHome(context);
    }
    Optional<HomeChangeTracker.Changes> changes = Optional.empty();
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
      } else if (changes.get().subtrees().contains("")) {
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
        out = trackedDelta(context, changes.get(), false);
        delta = "tracked: " + changes.get();
      } else {
        if (trackingSince != null && linkBasis.isPresent()) {
          // The pre-copy linked unchanged files to the previous backup; an attribute change since would be applied
          // by this rsync to the shared inode, and so to the previous backup too.
          long t0 = System.nanoTime();
          int unshared = SharedInodes.unshareEverywhere(home, context.homeDir(), trackingSince, parallel + 1);
          log.debug(
              "{} file(s) hard-linked to the previous backup changed since the pre-copy began; copying them afresh ({} ms)",
              unshared, (System.nanoTime() - t0) / 1_000_000);
        }
        if (!preCopy && linkBasis.isPresent()) {
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
      Trees.deleteRecursively(workDir(context));
    }
    log.debug("home delta under the lock: {}", delta);
    return new CopyResult(
        name(),
        out.totalBytes,
        out.files,
        out.transferredBytes,
        List.of(),
        Map.of(
            "excludes", excludesText,
            "link-dest", String.valueOf(linkDest),
            "start", start,
            "pre-copy", preCopy ? preCopyKind : "none",
            "delta", delta));
  }

  /**
   * The delta for tracked changes: the repository metadata among them compared by content, then the changed
   * directories' entries, then the new subtrees whole. Sizes are the pre-copy's, plus what moved now.
   */
  private RsyncOutput trackedDelta(BackupContext context, HomeChangeTracker.Changes changes, boolean live) {
    Path work = workDir(context);
    Path target = context.homeDir();
    RsyncOutput out = RsyncOutput.empty();
    out.files = preCopied == null ? 0 : preCopied.files;
    out.totalBytes = preCopied == null ? 0 : preCopied.totalBytes;
    List<String> metaDirs = changes.directories().stream().filter(RsyncCommands::holdsRepositoryMetadata).toList();
    List<String> metaTrees = changes.subtrees().stream().filter(RsyncCommands::mayHoldRepositoryMetadata).toList();
    long t0 = System.nanoTime();
    int unshared =
        linkBasis.isEmpty()
            ? 0
            : SharedInodes.unshare(home, target, linkBasis.get(), changes, live ? SharedInodes.EVERY : trackingSince);
    log.debug(
        "{} file(s) hard-linked to the previous backup {}; copying them afresh ({} ms)",
        unshared, live ? "in the changed directories" : "changed since tracking began", (System.nanoTime() - t0) / 1_000_000);
    Pass pass = new Pass(work, target, live, live ? "pre-copy" : "home", context.modes());
    // Metadata first: a ref it rewrites changes its directory's time, which the copy passes then set right.
    runListed(pass, "metadata-directories", metaDirs, false, true, Progress.NONE, out);
    runListed(pass, "metadata-subtrees", metaTrees, true, true, Progress.NONE, out);
    if (!live) {
      FaultPoints.hit(FaultPoints.DURING_HOME_COPY);
    }
    runListed(pass, "directories", changes.directories(), false, false, context.progress(), out);
    runListed(pass, "subtrees", changes.subtrees(), true, false, context.progress(), out);
    return out;
  }

  /**
   * The rsync commands of one tracked delta. Live (the catch-up before the lock), a directory removed meanwhile
   * is expected (rsync exits 23 or 24) and its parent's change is copied under the lock.
   */
  private record Pass(Path work, Path target, boolean live, String phase, dev.snapstash.core.util.FileModes modes) {}

  private void runListed(
      Pass pass, String name, Collection<String> dirs, boolean recursive, boolean metadata, Progress progress, RsyncOutput total) {
    if (dirs.isEmpty()) {
      return;
    }
    Path list = pass.work().resolve(name + ".list");
    try {
      pass.modes().writeString(list, RsyncCommands.listEntries(dirs, recursive));
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + list + ": " + e.getMessage(), e);
    }
    Command command =
        metadata
            ? RsyncCommands.repositoryMetadataListed(home, pass.target(), list, recursive, excludes)
            : RsyncCommands.copyListed(home, pass.target(), list, recursive, excludes);
    if (pass.live()) {
      command = command.alsoOkOn(RsyncCommands.VANISHED, RsyncCommands.PARTIAL);
    }
    long t0 = System.nanoTime();
    total.addTransfer(run(command, pass.phase(), progress));
    log.debug(
        "{}delta pass {}: {} entries in {} ms", pass.live() ? "live " : "", name, dirs.size(), (System.nanoTime() - t0) / 1_000_000);
  }

  /** Our scratch directory inside the new backup (the tracker's barrier, the delta's lists); never in the home. */
  private static Path workDir(BackupContext context) {
    return context.backupDir().resolve(".rsync-work");
  }

  /** How long the tracker may take to read the events queued before the lock was drained. */
  private static final Duration BARRIER_TIMEOUT = Duration.ofSeconds(10);

  private RsyncOutput copy(BackupContext context, String phase, boolean live) {
    Path target = context.homeDir();
    try {
      createHome(context);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + target + ": " + e.getMessage(), e);
    }
    // Hard links are made by the first pass only: the pre-copy already linked every unchanged file, and linking
    // again under the lock makes rsync compare each file against two trees, doubling the locked walk.
    boolean firstPass = live || !preCopy;
    Optional<Path> previous = firstPass ? linkBasis : Optional.empty();
    Command command = RsyncCommands.copy(home, target, previous, excludes);
    if (live) {
      command = command.alsoOkOn(RsyncCommands.VANISHED, RsyncCommands.PARTIAL);
    }
    return run(command, phase, context.progress());
  }

  /**
   * The backup's {@code home} directory, for rsync to fill. Not with the backup's modes: rsync gives it the live
   * home's mode and owner, which a restore gives back; until then the backup directory keeps others out.
   */
  private static void createHome(BackupContext context) throws IOException {
    context.modes().createDirectories(context.backupDir());
    Files.createDirectories(context.homeDir());
  }

  private RsyncOutput run(Command command, String phase, Progress progress) {
    return HomeCopy.rsync(runner, command, phase, progress);
  }

  @Override
  public CopyResult afterUnlock(BackupContext context, CopyResult underLock) {
    if (tracked && subvolumeHome && collected != null) {
      try {
        java.util.Set<String> unknown = new java.util.HashSet<>(changedDirectories);
        unknown.addAll(removedFromCopy(context.homeDir(), collected.digests().keySet()));
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

  /**
   * The directories walked below a changed one that the copy no longer has. The delta's {@code rsync -d --delete}
   * of a changed directory removes a subdirectory moved away meanwhile, and the move itself raises events only in
   * the two parents: the subdirectory's own digest, and its descendants', would otherwise still vouch for a copy
   * that is gone, and a move back before the next backup would match them.
   */
  private java.util.Set<String> removedFromCopy(Path copy, java.util.Set<String> walked) {
    java.util.Set<String> gone = new java.util.HashSet<>();
    if (changedDirectories.isEmpty()) {
      return gone;
    }
    for (String dir : walked) {
      boolean belowChanged = !dir.isEmpty() && Trees.insideAny(Trees.parentOf(dir), changedDirectories);
      if (belowChanged && !Files.isDirectory(copy.resolve(dir), LinkOption.NOFOLLOW_LINKS)) {
        gone.add(dir);
      }
    }
    return gone;
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
    Trees.deleteRecursively(workDir(context));
    Trees.deleteRecursively(context.homeDir());
  }

  @Override
  public void prepareRestore(RestoreContext context) {
    HomeCopy.refuseUnsafeTarget(context);
  }

  @Override
  public void restore(RestoreContext context) {
    HomeCopy.restore(runner, context.homeDir(), context.homeTarget(), context.force(), context.progress());
  }
}
