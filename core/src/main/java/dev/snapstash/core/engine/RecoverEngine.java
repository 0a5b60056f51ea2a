package dev.snapstash.core.engine;

import dev.snapstash.core.spi.RunReport;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finishes the clean-up of a run that died (SIGKILL, OOM, power loss): replays its journal's pending undos in
 * safety order (thaw, cancel, unlock, delete snapshots, remove the partial backup), marking each done as it goes,
 * so a recover that is itself killed resumes where it stopped. Idempotent: what is already undone (an instance
 * no longer locked, a directory already gone) counts as done; with no journal there is nothing to do.
 */
public final class RecoverEngine {
  private static final Logger log = LoggerFactory.getLogger(RecoverEngine.class);

  /**
   * What recover did. Printed as {@code --json}, so nothing here is an {@code Optional}.
   *
   * @param tag the dead run's backup tag, or null when there was nothing to recover or the journal named none
   */
  public record Report(String tag, List<String> undone, List<String> failed) {
    public boolean clean() {
      return failed.isEmpty();
    }
  }

  private final BackupStore store;
  private final Services services;
  private final Notifications notifications;
  private final Clock clock;

  /**
   * @param services what each undo step replays itself with (see {@link Undo#undo}); the partial backup directory is
   *     handled here
   */
  public RecoverEngine(BackupStore store, Services services, List<Notifier> notifiers, Clock clock) {
    this.store = store;
    this.services = services;
    this.notifications = new Notifications(notifiers);
    this.clock = clock;
  }

  public Report recover() {
    Instant started = clock.instant();
    try (RunGuard guard = RunGuard.acquire(store, "recover")) {
      dev.snapstash.core.util.PrivateFiles.sweep(store.root());
      List<Journal.Entry> entries = Journal.read(store.root());
      if (entries.isEmpty()) {
        Journal.discard(store.root());
        return new Report(null, List.of(), List.of());
      }
      Optional<String> tag = Journal.tag(entries);
      List<String> undone = new ArrayList<>();
      List<String> failed = new ArrayList<>();
      try (Journal journal = Journal.resume(store.root())) {
        for (Undo u : Journal.pending(entries)) {
          try {
            if (u instanceof RemovePartialBackup p) {
              removePartial(p);
            } else {
              u.undo(services);
            }
            journal.done(u);
            undone.add(describe(u));
            log.info("recovered: {}", describe(u));
          } catch (SnapstashException e) {
            failed.add(describe(u) + ": " + e.getMessage());
            log.warn("could not {}: {}", describe(u), e.getMessage());
          }
        }
      }
      if (failed.isEmpty()) {
        Journal.discard(store.root());
      }
      RunReport report =
          new RunReport(
              "recover", tag.map(t -> t.substring(0, Math.max(0, t.length() - 16))).orElse("?"), tag.orElse(null),
              failed.isEmpty(), started, Duration.between(started, clock.instant()), null, 0,
              failed.isEmpty() ? null : failed.get(0));
      notifications.send(report);
      if (!failed.isEmpty()) {
        throw new SnapstashException(
            ErrorKind.PRECONDITION,
            "recover could not finish: " + failed.get(0) + (failed.size() > 1 ? " (and " + (failed.size() - 1) + " more)" : "")
                + "; fix that and run `snapstash recover` again");
      }
      return new Report(tag.orElse(null), undone, failed);
    }
  }

  /** A backup the dead run never completed is removed; a complete one (it died after finishing) is kept. */
  private void removePartial(RemovePartialBackup p) {
    Optional<Manifest> m = store.find(p.tag());
    if (m.isPresent() && m.get().state() == Manifest.State.COMPLETE) {
      return;
    }
    if (Files.exists(p.dir())) {
      try {
        dev.snapstash.core.util.Trees.deleteRecursively(p.dir());
      } catch (SnapstashException e) {
        m.ifPresent(x -> store.write(x.withState(Manifest.State.FAILED, clock.instant(), "the run died; removal failed")));
        throw e;
      }
    }
  }

  static String describe(Undo u) {
    return u.describe();
  }
}
