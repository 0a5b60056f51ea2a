package dev.snapstash.core.engine;

import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.Trees;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a retention policy to the backup store. Deleting a hard-linked incremental never damages the others:
 * each backup directory holds its own links to the shared files.
 */
public final class Pruner {
  private static final Logger log = LoggerFactory.getLogger(Pruner.class);

  /** What prune did (or, with dry-run, would do). */
  public record Result(boolean dryRun, Map<String, List<String>> kept, List<String> removed, long bytesFreed) {}

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
    for (Retention.Item item : d.remove()) {
      var dir = store.dir(item.tag());
      if (!dryRun) {
        // Unshared bytes are what deleting this directory actually frees.
        freed += Trees.unsharedBytes(dir);
        Trees.deleteRecursively(dir);
        log.info("removed backup {}", item.tag());
      }
      removed.add(item.tag());
      progress.report("prune", ++i / (double) d.remove().size(), item.tag());
    }
    return new Result(dryRun, kept, removed, freed);
  }
}
