package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.strategy.disk.HomeCopy;
import dev.snapstash.strategy.disk.RsyncCommands;
import dev.snapstash.core.home.HomeIndex;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.Natives;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

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
 *
 * <p>This object holds the configuration only; each backup's state lives in its {@link RsyncRun}.
 */
public final class RsyncDiskStrategy implements DiskStrategy {
  final Path home;
  final List<String> excludes;
  /** The excludes as one string: as recorded in the manifest, and as the key of a {@link HomeIndex}. */
  final String excludesText;
  final boolean linkDest;
  final boolean btrfsClones;
  final boolean preCopy;
  final boolean trackChanges;
  final int parallel;
  final ProcessRunner runner;
  /**
   * Runs whose walk of the home beside the preflight has started and which are not closed yet: while one is, the
   * preflight's {@link #check} leaves the home to that walk (see {@link RsyncRun#startReading}).
   */
  final AtomicInteger earlyWalks = new AtomicInteger();

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
        Optional<String> untrusted = MountPolicy.untrustedMount(home);
        findings.ok(
            "disk.rsync.track-changes",
            untrusted
                .map(why -> "off for this home (" + why + "); the delta under the lock walks the whole home")
                .orElse("on: the delta under the lock visits the directories that changed"));
        // In a backup's preflight the run's own walk, started beside it, opens inotify and lists the home anyway
        // (and logs which path each took): a second walk to count the directories would only compete with it.
        if (untrusted.isEmpty() && earlyWalks.get() == 0) {
          TrackerCheck.check(home, RsyncCommands.excludedDirectories(excludes), Natives.forcedOff(), findings);
        }
      } else {
        String off = preCopy ? "disk.rsync.track-changes is false" : "disk.rsync.pre-copy is false";
        findings.ok("inotify", "not used (" + off + ")");
        findings.ok("listing", "not used (" + off + ")");
      }
    }
  }

  /**
   * Starts a run that walks the home beside the preflight (see {@link RsyncRun#startReading}) when the delta under
   * the lock is to be tracked.
   */
  @Override
  public DiskStrategy.Run begin(Path backupRoot) {
    RsyncRun run = new RsyncRun(this);
    run.startReading(backupRoot);
    return run;
  }

  /**
   * A run without the walk beside the preflight: the tracker starts in {@link RsyncRun#prepareBackup}, as it does
   * when that walk cannot start (no barrier directory in the backup root).
   */
  RsyncRun beginWithoutEarlyWalk() {
    return new RsyncRun(this);
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
