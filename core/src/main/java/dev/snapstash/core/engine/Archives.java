package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Findings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies a complete backup to every configured archive destination, after the unlock and after the backup's own
 * journal is finished, and applies each destination's retention. A destination that fails is recorded in the
 * manifest ({@link Manifest.Archive}) and makes the run end with ARCHIVE; it never touches the local backup, and the
 * destinations after it are still tried. Each copy has a crash journal of its own, so a process killed during one
 * leaves the journaled step (the partial copy's removal) for {@code snapstash recover}.
 */
public final class Archives {
  private static final Logger log = LoggerFactory.getLogger(Archives.class);

  private final List<ArchiveDestination> destinations;
  private final BackupStore store;
  private final LongSupplier nanoTime;

  public Archives(List<ArchiveDestination> destinations, BackupStore store, LongSupplier nanoTime) {
    this.destinations = List.copyOf(destinations);
    this.store = store;
    this.nanoTime = nanoTime;
  }

  public List<ArchiveDestination> destinations() {
    return destinations;
  }

  /**
   * Every destination's check, each finding under {@code archive <name>}. Changes nothing. A destination's problem
   * is a warning here: an off-site copy that cannot be made must not cost the local backup, which goes ahead (and
   * the run then ends with ARCHIVE).
   */
  void check(Findings findings) {
    for (ArchiveDestination d : destinations) {
      Findings own = new Findings();
      try {
        d.strategy().check(own);
      } catch (SnapstashException e) {
        own.problem("archive " + d.name(), e);
      }
      for (Findings.Finding f : own.all()) {
        String subject = "archive " + d.name() + (f.subject().isEmpty() ? "" : ": " + f.subject());
        if (f.problem()) {
          findings.warning(subject, f.message() + " (the local backup goes ahead; its copy here will fail)");
        } else if (f.warning()) {
          findings.warning(subject, f.message());
        } else {
          findings.ok(subject, f.message());
        }
      }
    }
  }

  /**
   * Copies {@code done} to each destination in turn and returns the manifest with the outcomes, written. Never
   * throws (it runs inside the backup's failure handling, which would remove the complete backup); with no
   * destination configured, returns {@code done} unchanged.
   */
  Manifest copy(Manifest done) {
    if (destinations.isEmpty()) {
      return done;
    }
    List<Manifest.Archive> outcomes = new ArrayList<>();
    for (ArchiveDestination d : destinations) {
      if (Thread.currentThread().isInterrupted()) {
        outcomes.add(failed(d, 0, "not copied: the run was interrupted"));
        continue;
      }
      outcomes.add(copyTo(d, done));
    }
    Manifest out = done.withArchives(outcomes);
    try {
      store.write(out);
    } catch (RuntimeException e) {
      // The backup's own manifest stands as written; the outcomes are still in the run's result and report.
      log.warn("cannot record the archive copies in the manifest of {}: {}", done.tag(), e.getMessage());
    }
    return out;
  }

  private Manifest.Archive copyTo(ArchiveDestination d, Manifest done) {
    long t = nanoTime.getAsLong();
    ArchiveStrategy.Stored stored;
    Journal journal = null;
    try {
      journal = Journal.begin(store.root(), "archive " + d.name(), done.tag());
      stored = d.strategy().store(new ArchiveStrategy.Source(done.tag(), store.dir(done.tag()), done.startedAt()), journal);
      journal.finish();
    } catch (RuntimeException e) {
      // Any exception, a strategy's bug included: what escapes from here reaches the backup's failure path,
      // which would remove the complete backup.
      log.error("copy of {} to archive {} failed (the backup itself is complete): {}", done.tag(), d.name(), e.getMessage());
      log.debug("copy to archive {} failed", d.name(), e);
      if (journal != null) {
        // A strategy that undid its own partial copy leaves nothing for recover; one that could not, leaves its
        // step journaled (and the next destinations fail to start theirs until recover has run).
        try {
          if (journal.stillPending().isEmpty()) {
            journal.finish();
          } else {
            journal.close();
          }
        } catch (RuntimeException cleanup) {
          e.addSuppressed(cleanup);
        }
      }
      return failed(d, millisSince(t), e instanceof SnapstashException ? e.getMessage() : e.toString());
    }
    long millis = millisSince(t);
    log.info("copied {} to archive {}: {} ({} bytes) in {} ms", done.tag(), d.name(), stored.location(), stored.bytes(), millis);
    List<String> pruned = List.of();
    if (!d.retention().isEmpty()) {
      try {
        pruned = prune(d, false).removed();
      } catch (RuntimeException e) {
        // The copy is made; a prune that fails only keeps more than asked, and the next one retries.
        log.warn("retention of archive {} failed (the copy is made): {}", d.name(), e.getMessage());
      }
    }
    return new Manifest.Archive(
        d.name(), d.strategy().name(), true, stored.location(), stored.bytes(), stored.sha256(), millis, pruned, null);
  }

  private static Manifest.Archive failed(ArchiveDestination d, long millis, String error) {
    return new Manifest.Archive(d.name(), d.strategy().name(), false, null, 0, null, millis, List.of(), error);
  }

  private long millisSince(long t) {
    return Duration.ofNanos(nanoTime.getAsLong() - t).toMillis();
  }

  /**
   * What one destination's retention keeps and removes, by the same rules as the local store's: the newest copy is
   * always kept.
   *
   * @param kept each kept copy's tag with the rules that keep it
   */
  public record PruneResult(String destination, boolean dryRun, Map<String, List<String>> kept, List<String> removed) {}

  /** Applies {@code d}'s retention to its copies, or with {@code dryRun} only says what it would remove. */
  public static PruneResult prune(ArchiveDestination d, boolean dryRun) {
    return prune(d, d.retention(), dryRun);
  }

  /** Applies {@code policy} to {@code d}'s copies. */
  public static PruneResult prune(ArchiveDestination d, Retention.Policy policy, boolean dryRun) {
    List<ArchiveStrategy.Archived> copies = d.strategy().list();
    List<Retention.Item> items = new ArrayList<>();
    for (ArchiveStrategy.Archived a : copies) {
      // Only complete copies are ever listed: a copy being written is invisible until it is whole.
      items.add(new Retention.Item(a.tag(), Manifest.State.COMPLETE, a.startedAt()));
    }
    Retention.Decision decision = Retention.decide(items, policy);
    Map<String, List<String>> kept = new LinkedHashMap<>();
    decision.keep().forEach((item, reasons) -> kept.put(item.tag(), reasons));
    List<String> removed = new ArrayList<>();
    for (Retention.Item item : decision.remove()) {
      if (!dryRun) {
        d.strategy().delete(item.tag());
        log.info("removed {} from archive {}", item.tag(), d.name());
      }
      removed.add(item.tag());
    }
    return new PruneResult(d.name(), dryRun, kept, removed);
  }

  /** The error a backup whose copies failed ends with (ARCHIVE), naming the first; empty when all were made. */
  public static java.util.Optional<SnapstashException> failure(Manifest m) {
    List<Manifest.Archive> failed = m.failedArchives();
    if (failed.isEmpty()) {
      return java.util.Optional.empty();
    }
    Manifest.Archive first = failed.get(0);
    return java.util.Optional.of(new SnapstashException(
        ErrorKind.ARCHIVE,
        "backup " + m.tag() + " is complete, but " + failed.size() + " of " + m.archives().size()
            + " archive copies failed; the first, to " + first.destination() + ": " + first.error()));
  }
}
