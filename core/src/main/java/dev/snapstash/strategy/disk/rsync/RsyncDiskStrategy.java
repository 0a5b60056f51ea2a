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
 * lock, the same command again, which now moves only the delta since the pre-copy. The locked window is then
 * proportional to what changed in the last minutes, not to the size of the home. A second pass under the lock
 * compares the repositories' refs by content (see {@link RsyncCommands#repositoryMetadata}).
 *
 * <p>A file-by-file copy is never atomic, so this strategy needs a quiescer that really locks.
 */
public final class RsyncDiskStrategy implements DiskStrategy {
  private static final Logger log = LoggerFactory.getLogger(RsyncDiskStrategy.class);

  private final Path home;
  private final List<String> excludes;
  private final boolean linkDest;
  private final boolean preCopy;
  private final ProcessRunner runner;

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
    log.info("pre-copying the home while the instance is live");
    copy(context, "pre-copy", true);
  }

  @Override
  public CopyResult backup(BackupContext context) {
    RsyncOutput out = copy(context, "home", false);
    FaultPoints.hit(FaultPoints.DURING_HOME_COPY);
    RsyncOutput refs =
        run(RsyncCommands.repositoryMetadata(home, context.homeDir(), excludes), "home", Progress.NONE);
    out.transferredBytes += refs.transferredBytes;
    return new CopyResult(
        name(),
        out.totalBytes,
        out.files,
        out.transferredBytes,
        List.of(),
        Map.of("excludes", String.join(" ", excludes), "link-dest", String.valueOf(linkDest)));
  }

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
