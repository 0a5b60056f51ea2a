package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.engine.FaultPoints;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.Trees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
  private final boolean linkDest;
  private final boolean preCopy;
  private final boolean trackChanges;
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
      boolean preCopy,
      boolean trackChanges,
      ProcessRunner runner) {
    this.home = home;
    List<String> all = new ArrayList<>(RsyncCommands.DISPOSABLE);
    if (excludeEmbeddedDatabase) {
      all.addAll(RsyncCommands.EMBEDDED_DATABASE);
    }
    all.addAll(extraExcludes);
    this.excludes = List.copyOf(all);
    this.linkDest = linkDest;
    this.preCopy = preCopy;
    this.trackChanges = trackChanges;
    this.runner = runner;
  }

  @Override
  public String name() {
    return "rsync";
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
    }
  }

  @Override
  public void prepareBackup(BackupContext context) {
    if (!preCopy) {
      return;
    }
    if (trackChanges) {
      startTracking(context);
    }
    log.info("pre-copying the home while the instance is live");
    RsyncOutput out = copy(context, "pre-copy", true);
    preCopied = out;
  }

  /** What the pre-copy found, for the sizes when the delta under the lock visits only part of the home. */
  private RsyncOutput preCopied;

  private void startTracking(BackupContext context) {
    Path work = workDir(context);
    try {
      Trees.deleteRecursively(work);
      Files.createDirectories(work);
    } catch (java.io.IOException e) {
      throw SnapstashException.storage("cannot create " + work + ": " + e.getMessage(), e);
    }
    HomeChangeTracker.Result started = HomeChangeTracker.start(home, RsyncCommands.excludedDirectories(excludes), work);
    started.tracker().ifPresentOrElse(
        t -> tracker = t,
        () -> log.info("not tracking changes to the home ({}); the delta under the lock walks the whole home", started.whyNot()));
  }

  @Override
  public CopyResult backup(BackupContext context) {
    Optional<HomeChangeTracker.Changes> changes = Optional.empty();
    if (tracker != null) {
      changes = tracker.collect(BARRIER_TIMEOUT).filter(c -> !c.subtrees().contains(""));
      tracker = null;
    }
    RsyncOutput out;
    String delta;
    try {
      if (changes.isPresent()) {
        out = trackedDelta(context, changes.get());
        delta = "tracked: " + changes.get();
      } else {
        out = copy(context, "home", false);
        FaultPoints.hit(FaultPoints.DURING_HOME_COPY);
        RsyncOutput refs =
            run(RsyncCommands.repositoryMetadata(home, context.homeDir(), excludes), "home", Progress.NONE);
        out.transferredBytes += refs.transferredBytes;
        delta = preCopy ? "whole home" : "no pre-copy";
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
            "excludes", String.join(" ", excludes),
            "link-dest", String.valueOf(linkDest),
            "delta", delta));
  }

  /**
   * The delta for tracked changes: the repository metadata among them compared by content, then the changed
   * directories' entries, then the new subtrees whole. Sizes are the pre-copy's, plus what moved now.
   */
  private RsyncOutput trackedDelta(BackupContext context, HomeChangeTracker.Changes changes) {
    Path work = workDir(context);
    Path target = context.homeDir();
    RsyncOutput out = RsyncOutput.empty();
    out.files = preCopied == null ? 0 : preCopied.files;
    out.totalBytes = preCopied == null ? 0 : preCopied.totalBytes;
    List<String> metaDirs = changes.directories().stream().filter(RsyncCommands::holdsRepositoryMetadata).toList();
    List<String> metaTrees = changes.subtrees().stream().filter(RsyncCommands::mayHoldRepositoryMetadata).toList();
    // Metadata first: a ref it rewrites changes its directory's time, which the copy passes then set right.
    runListed(work, target, "metadata-directories", metaDirs, false, true, Progress.NONE, out);
    runListed(work, target, "metadata-subtrees", metaTrees, true, true, Progress.NONE, out);
    FaultPoints.hit(FaultPoints.DURING_HOME_COPY);
    runListed(work, target, "directories", changes.directories(), false, false, context.progress(), out);
    runListed(work, target, "subtrees", changes.subtrees(), true, false, context.progress(), out);
    return out;
  }

  private void runListed(
      Path work,
      Path target,
      String name,
      java.util.Collection<String> dirs,
      boolean recursive,
      boolean metadata,
      Progress progress,
      RsyncOutput total) {
    if (dirs.isEmpty()) {
      return;
    }
    Path list = work.resolve(name + ".list");
    try {
      Files.writeString(list, RsyncCommands.listEntries(dirs, recursive));
    } catch (java.io.IOException e) {
      throw SnapstashException.storage("cannot write " + list + ": " + e.getMessage(), e);
    }
    Command command =
        metadata
            ? RsyncCommands.repositoryMetadataListed(home, target, list, recursive, excludes)
            : RsyncCommands.copyListed(home, target, list, recursive, excludes);
    total.transferredBytes += run(command, "home", progress).transferredBytes;
  }

  /** Our scratch directory inside the new backup (the tracker's barrier, the delta's lists); never in the home. */
  private static Path workDir(BackupContext context) {
    return context.backupDir().resolve(".rsync-work");
  }

  /** How long the tracker may take to read the events queued before the lock was drained. */
  private static final java.time.Duration BARRIER_TIMEOUT = java.time.Duration.ofSeconds(10);

  private RsyncOutput copy(BackupContext context, String phase, boolean live) {
    Path target = context.homeDir();
    try {
      Files.createDirectories(target);
    } catch (java.io.IOException e) {
      throw SnapstashException.storage("cannot create " + target + ": " + e.getMessage(), e);
    }
    // Hard links are made by the first pass only: the pre-copy already linked every unchanged file, and linking
    // again under the lock makes rsync compare each file against two trees, doubling the locked walk.
    boolean firstPass = live || !preCopy;
    Optional<Path> previous =
        linkDest && firstPass
            ? context.previous().map(p -> p.resolve("home")).filter(Files::isDirectory)
            : Optional.empty();
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
  public void cleanupIncomplete(BackupContext context) {
    if (tracker != null) {
      tracker.close();
      tracker = null;
    }
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
