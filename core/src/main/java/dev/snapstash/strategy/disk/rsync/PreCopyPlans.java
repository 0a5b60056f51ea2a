package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.home.HomeIndex;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.Trees;
import dev.snapstash.strategy.disk.HomeCopy;
import dev.snapstash.strategy.disk.RsyncCommands;
import dev.snapstash.strategy.disk.RsyncOutput;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * The pre-copies that beat one rsync of the whole home, each empty when it does not apply (the run then falls back
 * to the next, and last to one rsync): only the directories that differ from the previous backup's index, into a
 * snapshot of that backup; or the repositories in shares, several rsyncs at once.
 */
final class PreCopyPlans {
  private static final Logger log = LoggerFactory.getLogger(PreCopyPlans.class);

  /** A pre-copy made, and what it compared, for the manifest. */
  record PreCopied(RsyncOutput out, String kind) {}

  private final Path home;
  private final List<String> excludes;
  private final int parallel;
  private final ProcessRunner runner;

  PreCopyPlans(Path home, List<String> excludes, int parallel, ProcessRunner runner) {
    this.home = home;
    this.excludes = excludes;
    this.parallel = parallel;
    this.runner = runner;
  }

  /**
   * The pre-copy into a snapshot of the previous backup that has an index: only the directories whose digest, taken
   * by the tracker's walk a moment ago, differs from the index (see {@link HomeIndex}). Empty when there is no
   * tracker or index to compare with, or a directory to copy cannot be named to rsync.
   */
  Optional<PreCopied> fromIndex(BackupContext context, HomeChangeTracker tracker, NewHome newHome, TrackedDelta delta) {
    Optional<Map<String, HomeIndex.Dir>> index = newHome.previousIndex().join();
    if (tracker == null || !newHome.cloned() || index.isEmpty()) {
      return Optional.empty();
    }
    Changes changes = ChangeAlgebra.differing(tracker.digests(), index.get(), HomeIndex.Dir::known);
    if (!ChangeAlgebra.nameable(changes)) {
      return Optional.empty();
    }
    int differ = changes.directories().size();
    String kind = differ + " of " + tracker.digests().size() + " directories differ from the previous backup's index";
    log.info("pre-copy: {}", kind);
    RsyncOutput out = delta.copy(context, changes, true, newHome.linkBasis(), null, null);
    if (out.exitCode == RsyncCommands.PARTIAL) {
      // Most often a directory of the list removed while rsync read it (git gc after a push removes emptied
      // loose-object directories): rsync then reports an error and skips its deletions. The tracker saw the
      // removal, and a second pass over the same directories, cheap here, finds it gone and deletes what it must.
      // A directory that cannot be read fails again, and tracking stops as before.
      log.info("pre-copy: rsync could not copy everything (exit 23); copying the {} directories again", differ);
      out = delta.copy(context, changes, true, newHome.linkBasis(), null, null);
    }
    return Optional.of(new PreCopied(out, kind));
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
  Optional<RsyncOutput> inShares(BackupContext context, NewHome newHome) {
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
    Path work = TrackedDelta.workDir(context);
    Optional<Path> previous = newHome.linkBasis();
    List<Command> commands = new ArrayList<>();
    try {
      NewHome.create(context);
      context.modes().createDirectories(work);
      if (newHome.cloned()) {
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
        futures.add(pool.submit(() -> HomeCopy.rsync(runner, c, "pre-copy", slot)));
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
}
