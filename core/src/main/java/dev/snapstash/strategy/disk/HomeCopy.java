package dev.snapstash.strategy.disk;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Copying a home file by file, shared by the disk strategies that do it: the rsync strategy always, the btrfs
 * strategy when it copies from a snapshot to another filesystem or restores where no snapshot can go.
 */
public final class HomeCopy {
  private HomeCopy() {}

  /** Runs an rsync command, reporting its percentages as {@code phase}, and returns its statistics. */
  public static RsyncOutput rsync(ProcessRunner runner, Command command, String phase, Progress progress) {
    RsyncOutput out = RsyncOutput.empty();
    progress.report(phase, 0, "starting");
    try {
      out.exitCode =
          runner.run(
                  command,
                  line -> RsyncOutput.progress(line).ifPresentOrElse(f -> progress.report(phase, f, ""), () -> out.accept(line)))
              .exitCode();
    } catch (SnapstashException e) {
      throw Trees.explainStorage(e, command.argv().get(command.argv().size() - 1));
    }
    progress.report(phase, 1, Trees.humanBytes(out.transferredBytes) + " copied");
    return out;
  }

  /** Refuses a backup without a home copy, and a non-empty target unless forced; changes nothing. */
  public static void refuseUnsafeTarget(RestoreContext context) {
    if (!Files.isDirectory(context.homeDir())) {
      throw SnapstashException.precondition("backup " + context.tag() + " has no home copy at " + context.homeDir());
    }
    if (!context.force() && !Trees.isEmptyOrMissing(context.homeTarget())) {
      throw SnapstashException.precondition(
          "the restore target " + context.homeTarget() + " is not empty; restore into an empty directory, or use"
              + " --force to replace its contents");
    }
  }

  /**
   * Restores {@code backupHome} into {@code target}: into an empty target a plain {@code cp -a}; into a forced
   * non-empty one rsync, which also deletes what the backup does not have.
   */
  public static void restore(ProcessRunner runner, Path backupHome, Path target, boolean force, Progress progress) {
    boolean empty = Trees.isEmptyOrMissing(target);
    try {
      Files.createDirectories(target);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + target + ": " + e.getMessage(), e);
    }
    if (!empty) {
      rsync(runner, RsyncCommands.restore(backupHome, target, force), "home", progress);
      return;
    }
    progress.report("home", 0, "cp -a into the empty " + target);
    try {
      runner.run(RsyncCommands.restoreIntoEmpty(backupHome, target));
    } catch (SnapstashException e) {
      throw Trees.explainStorage(e, target.toString());
    }
    progress.report("home", 1, "copied");
  }
}
