package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.home.HomeIndex;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a backup's new home starts out, before rsync fills it: empty, hard-linking unchanged files against the
 * previous backup, or a btrfs subvolume (a snapshot of the previous backup's home when it can be one).
 *
 * @param linkBasis the {@code --link-dest} basis: the previous backup's home, unless the new home is a subvolume
 * @param description how it started out, for the manifest
 * @param cloned whether it is a snapshot of the previous backup's, to be brought up to date in place
 * @param subvolume whether it is a btrfs subvolume: its index is then worth writing, for the next backup
 * @param previousIndex the previous backup's {@link HomeIndex}, when this home is a snapshot of that backup's;
 *     read beside the tracker's walk (80,000 lines are a quarter of a second idle, and more under load)
 */
record NewHome(
    Optional<Path> linkBasis,
    String description,
    boolean cloned,
    boolean subvolume,
    CompletableFuture<Optional<Map<String, HomeIndex.Dir>>> previousIndex) {
  private static final Logger log = LoggerFactory.getLogger(NewHome.class);

  private static final CompletableFuture<Optional<Map<String, HomeIndex.Dir>>> NO_INDEX =
      CompletableFuture.completedFuture(Optional.empty());

  /**
   * Makes the new backup's home a btrfs subvolume where the backup root is on btrfs (a snapshot of the previous
   * backup's home when it can), and otherwise leaves it to rsync, hard-linking against the previous backup. A
   * subvolume that cannot be made (no btrfs-progs, no permission) is logged and the hard links are used instead.
   *
   * @param excludesText the excludes as one string, which a clone's index must have been written with
   */
  static NewHome make(BackupContext context, boolean linkDest, boolean btrfsClones, String excludesText, ProcessRunner runner) {
    Optional<Path> linkBasis =
        linkDest ? context.previous().map(p -> p.resolve("home")).filter(Files::isDirectory) : Optional.empty();
    NewHome plain =
        new NewHome(linkBasis, linkBasis.isPresent() ? "hard links to the previous backup" : "an empty directory", false, false, NO_INDEX);
    Path target = context.homeDir();
    if (!linkDest || !btrfsClones || Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      return plain;
    }
    Optional<HomeClones.Plan> plan = HomeClones.plan(target, context.previous(), excludesText);
    if (plan.isEmpty()) {
      return plain;
    }
    try {
      context.modes().createDirectories(target.getParent());
      var made = runner.runAllowingFailure(plan.get().command(), l -> {});
      if (made.exitCode() != 0) {
        log.warn("could not make the new home {}: {}; hard-linking against the previous backup instead",
            plan.get().description(), made.stderrTail().strip());
        return plain;
      }
    } catch (IOException | RuntimeException e) {
      log.warn("could not make the new home {}: {}; hard-linking against the previous backup instead",
          plan.get().description(), e.getMessage());
      return plain;
    }
    log.info("the new backup's home is {}", plan.get().description());
    boolean cloned = plan.get().snapshot();
    CompletableFuture<Optional<Map<String, HomeIndex.Dir>>> index = NO_INDEX;
    if (cloned) {
      Path previous = context.previous().get();
      index = CompletableFuture.supplyAsync(
          () -> HomeIndex.read(previous, excludesText),
          task -> {
            Thread reader = new Thread(task, "home-index-reader");
            reader.setDaemon(true);
            reader.start();
          });
    }
    return new NewHome(Optional.empty(), plan.get().description(), cloned, true, index);
  }

  /**
   * The backup's {@code home} directory, for rsync to fill. Not with the backup's modes: rsync gives it the live
   * home's mode and owner, which a restore gives back; until then the backup directory keeps others out.
   */
  static void create(BackupContext context) throws IOException {
    context.modes().createDirectories(context.backupDir());
    Files.createDirectories(context.homeDir());
  }
}
