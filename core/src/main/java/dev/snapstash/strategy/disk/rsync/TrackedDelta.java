package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.util.FileModes;
import dev.snapstash.strategy.disk.HomeCopy;
import dev.snapstash.strategy.disk.RsyncCommands;
import dev.snapstash.strategy.disk.RsyncOutput;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The copy of tracked changes: the repository metadata among them compared by content, then the changed
 * directories' entries, then the new subtrees whole. Used live (the pre-copy from an index, the catch-up) and under
 * the lock.
 */
final class TrackedDelta {
  private static final Logger log = LoggerFactory.getLogger(TrackedDelta.class);

  private final Path home;
  private final List<String> excludes;
  private final ProcessRunner runner;

  TrackedDelta(Path home, List<String> excludes, ProcessRunner runner) {
    this.home = home;
    this.excludes = excludes;
    this.runner = runner;
  }

  /** Our scratch directory inside the new backup (the tracker's barrier, the delta's lists); never in the home. */
  static Path workDir(BackupContext context) {
    return context.backupDir().resolve(".rsync-work");
  }

  /**
   * Copies {@code changes}. Sizes are the pre-copy's, plus what moved now.
   *
   * @param linkBasis the previous backup's home the new one shares inodes with, whose shared files in the changed
   *     directories are copied afresh first
   * @param preCopied what the pre-copy found, or null before it has
   * @param trackingSince under the lock, the start of tracking: only shared files changed since are copied afresh
   */
  RsyncOutput copy(
      BackupContext context, Changes changes, boolean live, Optional<Path> linkBasis, RsyncOutput preCopied, Instant trackingSince) {
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
  private record Pass(Path work, Path target, boolean live, String phase, FileModes modes) {}

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
    total.addTransfer(HomeCopy.rsync(runner, command, pass.phase(), progress));
    log.debug(
        "{}delta pass {}: {} entries in {} ms", pass.live() ? "live " : "", name, dirs.size(), (System.nanoTime() - t0) / 1_000_000);
  }
}
