package dev.snapstash.core.engine;

import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.Trees;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a retention policy to the backup store. Deleting a hard-linked incremental never damages the others:
 * each backup directory holds its own links to the shared files. A backup leaves the list atomically before its
 * files are deleted (see {@link BackupStore#markRemoved}), so a prune killed halfway never leaves a half-deleted
 * backup that still lists as complete; the next prune finishes the deletion.
 */
public final class Pruner {
  private static final Logger log = LoggerFactory.getLogger(Pruner.class);

  /** What prune did (or, with dry-run, would do). */
  public record Result(boolean dryRun, Map<String, List<String>> kept, List<String> removed, long bytesFreed) {}

  private static final int THREADS = Math.max(4, Runtime.getRuntime().availableProcessors());

  private final BackupStore store;

  public Pruner(BackupStore store) {
    this.store = store;
  }

  /** Decides and, unless {@code dryRun}, deletes. The caller holds the run guard. */
  public Result prune(Retention.Policy policy, boolean dryRun, Progress progress) {
    List<Manifest> all = store.list();
    Retention.Decision d = Retention.decide(all.stream().map(Retention.Item::of).toList(), policy);
    Map<String, List<String>> kept = new java.util.LinkedHashMap<>();
    d.keep().forEach((item, reasons) -> kept.put(item.tag(), reasons));
    List<String> removed = new ArrayList<>();
    long freed = 0;
    int i = 0;
    if (!dryRun) {
      store.sweepRemoved();
    }
    // The newest complete backup is never removed, and it is the one the next backup links against.
    HomeStamps.Refresh stamps =
        dryRun || d.remove().isEmpty()
            ? null
            : store.latestComplete().map(m -> HomeStamps.before(store.dir(m.tag()), THREADS, store.modes())).orElse(null);
    for (Retention.Item item : d.remove()) {
      var dir = store.dir(item.tag());
      if (!dryRun) {
        // Unshared bytes are what deleting this directory actually frees.
        freed += Trees.unsharedBytes(dir);
        // Out of the list first, in one atomic rename, then deleted: deleting in place, a run killed halfway left
        // a directory whose manifest could still say "complete" over a half-deleted home or dump.
        Path doomed = store.markRemoved(item.tag());
        FaultPoints.hit(FaultPoints.DURING_RETENTION);
        Trees.deleteRecursively(doomed);
        log.info("removed backup {}", item.tag());
      }
      removed.add(item.tag());
      progress.report("prune", ++i / (double) d.remove().size(), item.tag());
    }
    if (stamps != null) {
      stamps.after();
    }
    return new Result(dryRun, kept, removed, freed);
  }
}
