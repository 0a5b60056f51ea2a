package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.PreviousHomeCheck;
import dev.snapstash.core.util.Digests;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The check of the previous backup's home copy (see {@link PreviousHomeCheck}), started at the beginning of a run,
 * beside the preflight: its {@code home.stamps} and {@code home.sha256} are read, every file it lists is stat'ed and
 * compared with its stamp, and only the files whose stamp fails are read again and compared with their digest.
 * It never changes the previous backup: a damaged copy stays damaged, so that verifying that backup shows it.
 *
 * <p>The same object then gives the checksums of the new backup the previous list and stamps it read, and which
 * files it could not vouch for ({@link HomeChecksums#write(Path, PreviousHome, int)}). Public for the strategies'
 * tests, which run a disk strategy with the engine's own check.
 */
public final class PreviousHome implements PreviousHomeCheck, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PreviousHome.class);
  /** How many damaged paths the warning names; the manifest keeps more (see {@link Manifest.Repaired}). */
  private static final int NAMED = 5;

  /** What the check found. {@code unproven} holds every file whose stamp failed, {@code damaged} among them. */
  record Result(DigestList list, HomeStamps stamps, Set<String> unproven, List<String> damaged, long files) {}

  private final Optional<Path> backupDir;
  private final CompletableFuture<Void> stamped;
  private final CompletableFuture<Result> result;
  private final ExecutorService pool;

  private PreviousHome(
      Optional<Path> backupDir, CompletableFuture<Void> stamped, CompletableFuture<Result> result, ExecutorService pool) {
    this.backupDir = backupDir;
    this.stamped = stamped;
    this.result = result;
    this.pool = pool;
  }

  /** Starts checking {@code previousBackupDir}'s home copy on {@code threads} threads of its own. */
  public static PreviousHome start(Optional<Path> previousBackupDir, int threads) {
    if (previousBackupDir.isEmpty()) {
      return trusting(previousBackupDir);
    }
    Path dir = previousBackupDir.get();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
      Thread t = new Thread(r, "previous-home-check");
      t.setDaemon(true);
      return t;
    });
    CompletableFuture<Void> stamped = new CompletableFuture<>();
    CompletableFuture<Result> result = new CompletableFuture<>();
    Thread coordinator = new Thread(() -> {
      try {
        result.complete(check(dir, pool, Math.max(1, threads), stamped));
      } catch (Throwable e) {
        stamped.completeExceptionally(e);
        result.completeExceptionally(e);
      } finally {
        pool.shutdown();
      }
    }, "previous-home-check");
    coordinator.setDaemon(true);
    coordinator.start();
    return new PreviousHome(previousBackupDir, stamped, result, pool);
  }

  /**
   * The previous copy's lists, taken as they are: nothing read again, nothing found damaged. For a caller that has
   * checked the copy itself, or that has none.
   */
  static PreviousHome trusting(Optional<Path> previousBackupDir) {
    DigestList list = previousBackupDir.map(DigestList::read).orElse(DigestList.EMPTY);
    HomeStamps stamps = previousBackupDir.map(HomeStamps::read).orElse(HomeStamps.EMPTY);
    return new PreviousHome(
        previousBackupDir,
        CompletableFuture.completedFuture(null),
        CompletableFuture.completedFuture(new Result(list, stamps, Set.of(), List.of(), list.size())),
        null);
  }

  private static Result check(Path dir, ExecutorService pool, int threads, CompletableFuture<Void> stamped)
      throws InterruptedException {
    long t0 = System.nanoTime();
    Future<DigestList> reading = pool.submit(() -> DigestList.read(dir));
    HomeStamps stamps = HomeStamps.read(dir);
    Path home = dir.resolve("home");
    BitSet proven = stamps.proven(home, pool, threads);
    stamped.complete(null);
    long t1 = System.nanoTime();
    DigestList list = HomeChecksums.result(reading);
    // Everything listed without a proof: a stamp that failed, or none (a backup taken before stamps existed).
    List<Integer> unproven = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      int s = stamps.indexOf(list.path(i));
      if (s < 0 || !proven.get(s)) {
        unproven.add(i);
      }
    }
    List<Future<Boolean>> reads = new ArrayList<>(unproven.size());
    for (int i : unproven) {
      reads.add(pool.submit(() -> damaged(home.resolve(list.path(i)), list.digest(i))));
    }
    Set<String> unprovenPaths = new TreeSet<>();
    List<String> damaged = new ArrayList<>();
    for (int k = 0; k < unproven.size(); k++) {
      String path = list.path(unproven.get(k));
      unprovenPaths.add(path);
      if (HomeChecksums.result(reads.get(k))) {
        damaged.add(path);
      }
    }
    log.debug(
        "previous backup {}: {} of {} files unchanged by their stamps ({} ms), {} read again, {} damaged ({} ms)",
        dir.getFileName(), list.size() - unproven.size(), list.size(), (t1 - t0) / 1_000_000, unproven.size(),
        damaged.size(), (System.nanoTime() - t1) / 1_000_000);
    if (!damaged.isEmpty()) {
      log.warn(
          "{} file(s) of the previous backup {} no longer match its {}: {}; this backup copies them afresh instead"
              + " of sharing them, and leaves that backup as it is (`snapstash verify {}` shows the damage)",
          damaged.size(), dir.getFileName(), HomeChecksums.FILE, named(damaged), dir.getFileName());
    }
    return new Result(list, stamps, Collections.unmodifiableSet(unprovenPaths), List.copyOf(damaged), list.size());
  }

  /**
   * Whether a file that lost its proof no longer has its digest. A file the copy no longer has as a regular file is
   * not: nothing of it can be shared. One that cannot be read is (btrfs answers EIO for a block that fails its
   * checksum).
   */
  private static boolean damaged(Path file, String digest) {
    if (HomeStamps.now(file).isEmpty()) {
      return false;
    }
    try {
      return !Digests.sha256(file).equals(digest);
    } catch (IOException | RuntimeException e) {
      return true;
    }
  }

  /** The first few paths, and how many more. */
  static String named(List<String> paths) {
    String first = String.join(", ", paths.subList(0, Math.min(NAMED, paths.size())));
    return paths.size() > NAMED ? first + " and " + (paths.size() - NAMED) + " more" : first;
  }

  Optional<Path> backupDir() {
    return backupDir;
  }

  @Override
  public void awaitStamps() {
    join(stamped);
  }

  @Override
  public List<String> damaged() {
    return result().damaged();
  }

  /** What the check found; waits for it. */
  Result result() {
    return join(result);
  }

  /** One line for the manifest: what the check cost and found. */
  String summary() {
    Result r = result();
    return String.format(
        java.util.Locale.ROOT, "%d of %d files unchanged by their stamps, %d read again, %d damaged",
        r.files() - r.unproven().size(), r.files(), r.unproven().size(), r.damaged().size());
  }

  private static <T> T join(CompletableFuture<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while checking the previous backup", e);
    } catch (ExecutionException | CompletionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw SnapstashException.storage("cannot check the previous backup: " + cause, cause);
    }
  }

  /** Stops a check still running (a failed preflight); its threads end at their next file. */
  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
    result.completeExceptionally(
        new SnapstashException(ErrorKind.INTERRUPTED, "the check of the previous backup was stopped"));
    stamped.completeExceptionally(
        new SnapstashException(ErrorKind.INTERRUPTED, "the check of the previous backup was stopped"));
  }
}
