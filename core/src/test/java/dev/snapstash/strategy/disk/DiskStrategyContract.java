package dev.snapstash.strategy.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.Digests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link DiskStrategy} guarantees, {@code none} included, through the lifecycle the engine drives: {@link
 * DiskStrategy#begin}, then the run's steps, then {@link DiskStrategy.Run#close}. A strategy that does not declare
 * {@link Capability#COPIES_HOME} is held to what a null object promises instead of a copy: it writes nothing and
 * refuses nothing.
 *
 * <p>A subclass supplies the strategy on a home of its kind ({@link #strategy}) and, where the home must live on a
 * particular filesystem (a btrfs subvolume), {@link #makeHome}, {@link #backupRoot} and {@link #restoreTarget}.
 */
public abstract class DiskStrategyContract {
  @TempDir protected Path tmp;

  /** A strategy backing up {@code home} into backups under {@code backupRoot}. */
  protected abstract DiskStrategy strategy(Path home, Path backupRoot) throws Exception;

  /** An empty directory to be the home; a plain directory unless the strategy needs more (a subvolume). */
  protected Path makeHome() throws Exception {
    return Files.createDirectories(tmp.resolve("home"));
  }

  /** Where backups go; created before {@link #strategy} is called. */
  protected Path backupRoot() throws Exception {
    return Files.createDirectories(tmp.resolve("backups"));
  }

  /** A path to restore into, which does not exist yet, with an existing parent. */
  protected Path restoreTarget(String name) throws Exception {
    return Files.createDirectories(tmp.resolve("restored")).resolve(name);
  }

  private Path home;
  private Path root;
  private DiskStrategy strategy;

  private DiskStrategy strategy() throws Exception {
    if (strategy == null) {
      home = makeHome();
      root = backupRoot();
      strategy = strategy(home, root);
    }
    return strategy;
  }

  private boolean copiesHome() throws Exception {
    return strategy().capabilities().contains(Capability.COPIES_HOME);
  }

  private BackupContext context(String tag) {
    return new BackupContext("test-" + tag, root.resolve("test-" + tag), Optional.empty(), Progress.NONE);
  }

  /**
   * A small home with what a Bitbucket home holds that a copy can get wrong: nested files with their own modes and
   * times, a file with two hard links, a symbolic link, an empty directory, an executable hook.
   */
  private void fillHome() throws IOException {
    write("shared/bitbucket.properties", "setup.displayName=contract\n", "rw-------");
    write("shared/data/repositories/1/HEAD", "ref: refs/heads/main\n", "rw-r--r--");
    write("shared/data/repositories/1/refs/heads/main", "a".repeat(40) + "\n", "rw-r--r--");
    write("shared/data/repositories/1/objects/ab/cdef0123", "loose object", "r--r--r--");
    write("shared/data/repositories/1/hooks/pre-receive", "#!/bin/sh\nexit 0\n", "rwxr-xr-x");
    write("shared/data/attachments/1/picture.png", "png bytes", "rw-r-----");
    Files.createLink(home.resolve("shared/data/repositories/1/objects/ab/linked"),
        home.resolve("shared/data/repositories/1/objects/ab/cdef0123"));
    Files.createSymbolicLink(home.resolve("shared/latest"), Path.of("data/repositories/1"));
    Files.createDirectories(home.resolve("shared/data/repositories/1/refs/tags"));
    Files.setLastModifiedTime(home.resolve("shared/bitbucket.properties"), FileTime.fromMillis(1_600_000_000_000L));
  }

  private void write(String relative, String content, String mode) throws IOException {
    Path file = home.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
  }

  /** The steps the engine takes for a backup that succeeds, closing the run at the end. */
  private BackupContext backUp(String tag) throws Exception {
    BackupContext ctx = context(tag);
    try (DiskStrategy.Run run = strategy().begin(root)) {
      run.prepareBackup(ctx);
      CopyResult underLock = run.backup(ctx);
      assertThat(underLock.strategy()).isEqualTo(strategy().name());
      CopyResult done = run.afterUnlock(ctx, underLock);
      assertThat(done.strategy()).isEqualTo(strategy().name());
    }
    return ctx;
  }

  @Test
  void checkFindsNoProblemWhenConfiguredRight() throws Exception {
    Findings f = new Findings();
    strategy().check(f);
    assertThat(f.problems()).isEmpty();
    assertThat(f.all()).isNotEmpty();
  }

  /** Back up, restore into an empty target, and the restored tree is the home's, file for file. */
  @Test
  void aRestoredBackupIsTheHomeItWasTakenFrom() throws Exception {
    strategy();
    fillHome();
    BackupContext ctx = backUp("round-trip");
    Path target = restoreTarget("round-trip");
    RestoreContext restore = new RestoreContext(ctx.tag(), ctx.backupDir(), target, false, Progress.NONE);
    strategy().prepareRestore(restore);
    strategy().restore(restore);
    if (copiesHome()) {
      assertThat(tree(target)).isEqualTo(tree(home));
    } else {
      assertThat(ctx.homeDir()).as("a strategy that copies no home writes none").doesNotExist();
      assertThat(target).as("nor restores one").doesNotExist();
    }
  }

  @Test
  void cleanupIncompleteIsSafeBeforeAnythingAndIdempotentAfterABackup() throws Exception {
    strategy();
    fillHome();
    Set<Path> before = everything();
    BackupContext ctx = context("cleanup");
    try (DiskStrategy.Run run = strategy().begin(root)) {
      run.cleanupIncomplete(ctx);
      run.cleanupIncomplete(ctx);
      run.prepareBackup(ctx);
      run.backup(ctx);
      run.cleanupIncomplete(ctx);
      run.cleanupIncomplete(ctx);
    }
    assertThat(ctx.homeDir()).doesNotExist();
    assertNothingLeftSince(before);
  }

  /**
   * A backup whose thread is interrupted stops promptly and says so, and its clean-up leaves nothing half-written.
   * The interrupt is already pending as the copy starts, so it lands inside the copy whatever the machine's load.
   */
  @Test
  void anInterruptedBackupStopsPromptlyAndItsCleanupLeavesNothing() throws Exception {
    strategy();
    fillHome();
    Set<Path> before = everything();
    BackupContext ctx = context("interrupted");
    try (DiskStrategy.Run run = strategy().begin(root)) {
      run.prepareBackup(ctx);
      CompletableFuture<Throwable> outcome = new CompletableFuture<>();
      Thread copier =
          new Thread(
              () -> {
                Thread.currentThread().interrupt();
                try {
                  run.backup(ctx);
                  outcome.complete(null);
                } catch (Throwable t) {
                  outcome.complete(t);
                }
              },
              "contract-copy");
      long t0 = System.nanoTime();
      copier.start();
      Throwable thrown = outcome.get(30, TimeUnit.SECONDS);
      copier.join(10_000);
      assertThat(copier.isAlive()).isFalse();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
      if (copiesHome()) {
        assertThat(thrown).as("an interrupted copy must not pass for a complete one").isInstanceOf(SnapstashException.class);
        assertThat(((SnapstashException) thrown).kind()).isEqualTo(ErrorKind.INTERRUPTED);
      } else {
        assertThat(thrown).as("a strategy that copies nothing has nothing to stop").isNull();
      }
      run.cleanupIncomplete(ctx);
    }
    assertThat(ctx.homeDir()).doesNotExist();
    assertNothingLeftSince(before);
  }

  /**
   * The home goes away after the pre-copy (a failure under the lock): the backup fails, if it copies anything, and
   * the clean-up removes whatever the run made, here or elsewhere (a snapshot).
   */
  @Test
  void aFailedBackupLeavesNothingBehindAfterItsCleanup() throws Exception {
    strategy();
    fillHome();
    Path away = home.resolveSibling(home.getFileName() + ".away");
    Set<Path> before = everything();
    BackupContext ctx = context("failed");
    Throwable failure = null;
    try (DiskStrategy.Run run = strategy().begin(root)) {
      try {
        run.prepareBackup(ctx);
        Files.move(home, away);
        run.afterUnlock(ctx, run.backup(ctx));
      } catch (SnapstashException e) {
        failure = e;
      }
      run.cleanupIncomplete(ctx);
    } finally {
      if (Files.exists(away, LinkOption.NOFOLLOW_LINKS)) {
        Files.move(away, home);
      }
    }
    if (copiesHome()) {
      assertThat(failure).as("a backup of a home that is gone must fail").isNotNull();
    }
    assertThat(ctx.homeDir()).doesNotExist();
    assertNothingLeftSince(before);
  }

  /** The run's end releases what it holds: its threads, its inotify instances, its scratch in the backup root. */
  @Test
  void closingTheRunReleasesEverythingItHeld() throws Exception {
    strategy();
    fillHome();
    Set<Path> before = everything();
    Set<Thread> threads = Thread.getAllStackTraces().keySet();
    int inotify = inotifyDescriptors();
    BackupContext ctx = backUp("released");
    assertReleased(threads, inotify);
    Set<Path> made = new HashSet<>(everything());
    made.removeAll(before);
    assertThat(made.stream().filter(p -> p.startsWith(root) && !p.startsWith(ctx.backupDir())).map(Path::toString))
        .as("left in the backup root beside the backup").isEmpty();
  }

  /** A run closed right after it began (a failed preflight) releases what it started, and closes twice. */
  @Test
  void aRunClosedRightAfterItBeganReleasesWhatItStarted() throws Exception {
    strategy();
    fillHome();
    Set<Path> before = everything();
    Set<Thread> threads = Thread.getAllStackTraces().keySet();
    int inotify = inotifyDescriptors();
    DiskStrategy.Run run = strategy().begin(root);
    run.close();
    run.close();
    assertReleased(threads, inotify);
    assertNothingLeftSince(before);
  }

  @Test
  void aRestoreRefusesANonEmptyTargetUnlessForced() throws Exception {
    strategy();
    fillHome();
    BackupContext ctx = backUp("refusal");
    Path target = restoreTarget("non-empty");
    Files.createDirectories(target);
    Files.writeString(target.resolve("extra"), "an earlier home's file");
    RestoreContext unforced = new RestoreContext(ctx.tag(), ctx.backupDir(), target, false, Progress.NONE);
    RestoreContext forced = new RestoreContext(ctx.tag(), ctx.backupDir(), target, true, Progress.NONE);
    if (copiesHome()) {
      assertThatThrownBy(() -> strategy().prepareRestore(unforced))
          .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION));
      assertThat(target.resolve("extra")).as("a refusal changes nothing").exists();
      strategy().prepareRestore(forced);
      strategy().restore(forced);
      assertThat(tree(target)).isEqualTo(tree(home));
    } else {
      strategy().prepareRestore(unforced);
      strategy().restore(unforced);
      assertThat(tree(target)).as("a strategy that restores no home leaves the target alone").containsOnlyKeys("extra");
    }
  }

  private void assertReleased(Set<Thread> before, int inotifyBefore) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    List<String> extra;
    int inotify;
    do {
      Thread.sleep(50);
      extra = newThreads(before);
      inotify = inotifyDescriptors();
    } while ((!extra.isEmpty() || inotify > inotifyBefore) && System.nanoTime() < deadline);
    assertThat(extra).as("threads the run started and left running").isEmpty();
    assertThat(inotify).as("inotify instances the run left open").isLessThanOrEqualTo(inotifyBefore);
  }

  /**
   * Threads started since {@code before} that are still alive, but for the JDK's own pools, which outlive whoever
   * used them by design (the process reaper, the common pool).
   */
  private static List<String> newThreads(Set<Thread> before) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> !before.contains(t) && t.isAlive())
        .map(Thread::getName)
        .filter(n -> !n.startsWith("process reaper") && !n.startsWith("ForkJoinPool.commonPool"))
        .sorted()
        .toList();
  }

  private static int inotifyDescriptors() throws IOException {
    int n = 0;
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          if (Files.readSymbolicLink(fd).toString().equals("anon_inode:inotify")) {
            n++;
          }
        } catch (IOException gone) {
          // the descriptor of the listing itself, or one closed meanwhile
        }
      }
    }
    return n;
  }

  /** Every path under the test's directory, the home's included (a snapshot of it would show beside it). */
  private Set<Path> everything() throws IOException {
    try (Stream<Path> s = Files.walk(tmp)) {
      return s.collect(Collectors.toSet());
    }
  }

  /**
   * What the run made and its clean-up left: only directories with nothing in them but other such directories (the
   * backup's own directory, which the engine removes; a strategy's snapshot directory, kept for the next run), and
   * in the backup root nothing but the backup's directory (a run's scratch there is gone once it is closed).
   */
  private void assertNothingLeftSince(Set<Path> before) throws IOException {
    Set<Path> now = everything();
    List<String> left = new ArrayList<>();
    for (Path p : now) {
      boolean beside = p.getParent().equals(root) && !p.getFileName().toString().startsWith("test-");
      if (!before.contains(p) && (beside || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))) {
        left.add(tmp.relativize(p).toString());
      }
    }
    assertThat(left).as("files the run made and its clean-up left").isEmpty();
  }

  /**
   * A tree as a restore must reproduce it: every entry's type, mode, owner, and for files their content, time and
   * the other names they are hard-linked to; for symbolic links their target.
   */
  protected static SortedMap<String, String> tree(Path top) throws IOException {
    SortedMap<String, String> out = new TreeMap<>();
    Map<Object, Set<String>> inodes = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
    List<Path> all;
    try (Stream<Path> s = Files.walk(top)) {
      all = s.filter(p -> !p.equals(top)).sorted().toList();
    }
    for (Path p : all) {
      if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        inodes.computeIfAbsent(Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS), k -> new TreeSet<>())
            .add(top.relativize(p).toString());
      }
    }
    for (Path p : all) {
      String rel = top.relativize(p).toString();
      String owner = Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS) + ":"
          + Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
      if (Files.isSymbolicLink(p)) {
        out.put(rel, "link -> " + Files.readSymbolicLink(p) + " " + owner);
        continue;
      }
      String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        out.put(rel, "dir " + mode + " " + owner);
      } else {
        Set<String> names = inodes.get(Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS));
        out.put(rel, "file " + mode + " " + owner + " " + Files.size(p) + " " + Digests.sha256(p) + " "
            + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis() + " linked " + names);
      }
    }
    return out;
  }
}
