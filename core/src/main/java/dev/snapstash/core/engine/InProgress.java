package dev.snapstash.core.engine;

import dev.snapstash.core.error.SnapstashException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Tells a backup that is still being written from one left {@code in-progress} by a run that died (SIGKILL, OOM,
 * power loss), for {@code list}. A run journals its tag and pid before it writes the manifest, and deletes the
 * journal only after the manifest is final; so an in-progress manifest is alive exactly when the journal names its
 * tag and a live process with that pid, started before the journal was. Reads only: taking the run guard to find
 * out would make a backup that starts at that moment fail.
 */
public final class InProgress {
  /**
   * A pid is reused only by a process started after the run died, so after its journal began; the start time the
   * JVM reads is a clock tick count against a boot time in whole seconds, hence the slack.
   */
  private static final Duration START_TIME_SLACK = Duration.ofSeconds(2);

  /** What became of the run that wrote an in-progress manifest. */
  public enum State {
    /** A live process is writing it. */
    RUNNING,
    /** The run is gone; the manifest will stay in progress until {@code recover} (or a person) removes it. */
    DIED,
    /** The crash journal cannot be read (it is private to the user who runs backups). */
    UNKNOWN,
    /** The run ended while this was being looked at: the manifest (or its absence) is its end. */
    ENDED
  }

  /**
   * @param state what became of the run
   * @param pid the run's process id, when its journal names it
   * @param recoverable whether the run's crash journal is there, so that {@code snapstash recover} cleans it up
   * @param manifest the manifest read again after the journal, so a run that has just ended shows its end; null
   *     if that run's clean-up removed the backup
   */
  public record Status(State state, Long pid, boolean recoverable, Manifest manifest) {}

  private InProgress() {}

  /** The status of an in-progress manifest {@code m} listed from {@code store}. */
  public static Status of(BackupStore store, Manifest m) {
    List<Journal.Entry> entries;
    try {
      entries = Journal.read(store.root());
    } catch (SnapstashException e) {
      return new Status(State.UNKNOWN, null, false, m);
    }
    // Read after the journal: a run writes its final manifest before it deletes its journal, so a journal found
    // gone here means a manifest that is final by now, unless the run died.
    Manifest now = store.find(m.tag()).orElse(null);
    if (now == null || now.state() != Manifest.State.IN_PROGRESS) {
      return new Status(State.ENDED, null, false, now);
    }
    Optional<Journal.Entry> begun = entries.stream().filter(e -> m.tag().equals(e.tag())).findFirst();
    if (begun.isEmpty() || begun.get().pid() == null) {
      return new Status(State.DIED, null, false, now);
    }
    long pid = begun.get().pid();
    return new Status(alive(pid, begun.get().at()) ? State.RUNNING : State.DIED, pid, true, now);
  }

  /** Whether {@code pid} is a live process that started no later than {@code began} (not a reused pid). */
  static boolean alive(long pid, Instant began) {
    return ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .map(h -> began == null || h.info().startInstant().map(s -> !s.isAfter(began.plus(START_TIME_SLACK))).orElse(true))
        .orElse(false);
  }
}
