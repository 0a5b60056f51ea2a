package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.util.Trees;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The failure path of a run that got as far as its journal: unlock first (production must not stay locked while we
 * tidy up), then let each strategy remove what it made, then remove the backup directory, or mark it failed if it
 * cannot be removed; the journal goes only if all of that worked. Clean-up errors are attached to the first error,
 * never swallowed.
 */
final class BackupFailure {
  private static final Logger log = LoggerFactory.getLogger(BackupFailure.class);

  private final BackupSetup setup;
  private final DiskStrategy.Run disk;
  private final BackupContext context;
  private final Journal journal;
  private final RemovePartialBackup partial;
  private final Manifest started;

  BackupFailure(
      BackupSetup setup, DiskStrategy.Run disk, BackupContext context, Journal journal, RemovePartialBackup partial,
      Manifest started) {
    this.setup = setup;
    this.disk = disk;
    this.context = context;
    this.journal = journal;
    this.partial = partial;
    this.started = started;
  }

  /**
   * Cleans up after {@code cause} and returns the error to throw.
   *
   * @param lock the lock still held, or null once its release was answered
   */
  SnapstashException handle(RuntimeException cause, QuiesceLock lock) {
    SnapstashException first =
        Trees.explainStorage(
            cause instanceof SnapstashException se
                ? se
                : SnapstashException.internal("unexpected error during the backup: " + cause, cause),
            setup.settings().store().root().toString(), context.backupDir());
    boolean interrupted = Thread.interrupted();
    if (interrupted && first.kind() != ErrorKind.INTERRUPTED) {
      first = new SnapstashException(ErrorKind.INTERRUPTED, "the backup was interrupted; the instance was unlocked and the partial backup removed", first);
    }
    int cleanFailures = first.getSuppressed().length;
    try {
      if (lock != null) {
        try {
          lock.close();
        } catch (RuntimeException e) {
          first.addSuppressed(e);
        }
      }
      for (Runnable cleanup :
          List.<Runnable>of(() -> setup.database().cleanupIncomplete(context), () -> disk.cleanupIncomplete(context))) {
        try {
          cleanup.run();
        } catch (RuntimeException e) {
          first.addSuppressed(e);
        }
      }
      try {
        Trees.deleteRecursively(context.backupDir());
        journal.done(partial);
        log.info("removed the incomplete backup {}", context.tag());
      } catch (RuntimeException e) {
        first.addSuppressed(e);
        try {
          setup.settings().store().write(started.withState(Manifest.State.FAILED, setup.clock().instant(), first.getMessage()));
        } catch (RuntimeException e2) {
          first.addSuppressed(e2);
        }
      }
      endJournal(journal, first, first.getSuppressed().length == cleanFailures);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    return first;
  }

  /**
   * A failed run whose clean-up all worked leaves nothing to recover: its journal goes. If any clean-up failed
   * (the unlock above all), or anything the journal recorded is not marked undone, the journal stays for {@code
   * snapstash recover}, and the error says so: a journal deleted while it still holds an unlock token leaves an
   * instance locked that nothing can release.
   */
  private static void endJournal(Journal journal, SnapstashException first, boolean cleanedUp) {
    List<Undo> open = cleanedUp ? journal.stillPending() : List.of();
    if (!open.isEmpty()) {
      log.warn("clean-up left {} undone; keeping the crash journal", open.stream().map(RecoverEngine::describe).toList());
    }
    if (cleanedUp && open.isEmpty()) {
      try {
        journal.finish();
        return;
      } catch (RuntimeException e) {
        first.addSuppressed(e);
      }
    }
    journal.close();
    first.addSuppressed(
        new SnapstashException(
            ErrorKind.PRECONDITION, "clean-up was incomplete; run `snapstash recover` to finish it"));
  }
}
