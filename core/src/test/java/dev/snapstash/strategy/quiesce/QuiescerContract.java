package dev.snapstash.strategy.quiesce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Providers;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What every {@link Quiescer} guarantees, {@code none} and the engine tests' fake included: each runs this suite
 * through a small subclass that builds it against a real peer and says what that peer shows ({@link #held}).
 *
 * <p>Cases that need a lock to exist (a failed lock, a wait to interrupt) run only for a quiescer with {@link
 * Capability#LOCKS}; one without it takes nothing, and runs the rest to show that it leaves nothing behind either.
 */
public abstract class QuiescerContract {
  @TempDir protected Path tmp;

  /** Where the journal of each case is written: a real {@link Journal}, so every undo step is written as JSON. */
  private Path root;
  private Journal journal;

  /**
   * The quiescer under test, configured against a working peer, built the way a run builds it (through its provider
   * where it has one). Called once per case.
   */
  protected abstract Quiescer quiescer() throws Exception;

  /** What {@code snapstash recover} would replay the journal with: built afresh, as a new process would. */
  protected abstract Services services() throws Exception;

  /**
   * The side effects of this quiescer the peer shows now (a lock, a backup task, a stopped service), as short
   * names; empty when it holds nothing. Called from inside {@link UndoLog#add} and {@link UndoLog#done} too, so it
   * must be quick and must not call the quiescer.
   */
  protected abstract Set<String> held() throws Exception;

  /** Everything of the peer a call could change, to show that one changed nothing. Defaults to {@link #held}. */
  protected Object observable() throws Exception {
    return held();
  }

  /** Makes the next lock fail half way, after it took something. Needed by a quiescer with {@link Capability#LOCKS}. */
  protected void failNextLock() throws Exception {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " must say how to make a lock fail");
  }

  /**
   * Makes the next lock wait (drain) for a minute or more after it took something. Needed by a quiescer with {@link
   * Capability#LOCKS}.
   */
  protected void slowNextLock() throws Exception {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " must say how to make a lock wait");
  }

  /**
   * Whether what undoing a lock needs only comes with the lock's answer (Bitbucket's unlock token): such an undo
   * step cannot be journaled before the lock, only before anything else is done. False: the undo step is journaled
   * before the side effect exists.
   */
  protected boolean undoNeedsTheLocksAnswer() {
    return false;
  }

  /**
   * A configuration as a run reads it: the instance and backup sections every run has (the backup root under the
   * case's directory), then {@code sections}, YAML lines such as a {@code quiesce:} section.
   */
  protected SnapstashConfig config(String instance, String sections, Map<String, String> env) {
    return ConfigLoader.parse(
        "instance: {name: bb, home: " + tmp.resolve("home") + (instance.isEmpty() ? "" : ", " + instance) + "}\n"
            + "backup: {root: " + tmp.resolve("backups") + ", drain-timeout: 2m, poll-interval: 20ms, request-timeout: 10s}\n"
            + sections,
        "contract.yml", env);
  }

  /** The configured quiescer, built by its provider as a run builds it. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  protected static Quiescer fromConfig(SnapstashConfig config, Services services) {
    Provider provider = Providers.require(StrategyKind.QUIESCE, config.quiesce().type(), "quiesce.type");
    return (Quiescer) provider.create(config.quiesce().settings(), services);
  }

  /** Services as a run (or a recover) builds them from {@code config}. */
  protected static Services servicesOf(SnapstashConfig config) {
    return Services.of(config.instance(), config.backup(), new ProcessRunner());
  }

  @BeforeEach
  void openJournal() {
    root = tmp.resolve("journal-root");
    journal = Journal.begin(root, "backup", "contract-00000000-000000");
  }

  @AfterEach
  void closeJournal() {
    journal.close();
  }

  private boolean locks(Quiescer q) {
    return q.capabilities().contains(Capability.LOCKS);
  }

  @Test
  void checkFindsNoProblemAndChangesNothing() throws Exception {
    Quiescer q = quiescer();
    Object before = observable();
    Findings f = new Findings();
    q.check(f);
    assertThat(f.problems()).isEmpty();
    assertThat(f.all()).as("check says what it checked").isNotEmpty();
    assertThat(observable()).isEqualTo(before);
    assertThat(held()).isEmpty();
  }

  /** The success path (report 100, unlock) and the failure path (cancel, unlock) both end with nothing held. */
  @ParameterizedTest(name = "succeeded first: {0}")
  @ValueSource(booleans = {true, false})
  void lockThenReleaseLeavesNothingHeldAndNothingForRecover(boolean succeeded) throws Exception {
    Quiescer q = quiescer();
    Recording log = new Recording();
    QuiesceLock lock = q.quiesce(Progress.NONE, log);
    try {
      if (locks(q)) {
        assertThat(held()).as("held while the lock is").isNotEmpty();
      } else {
        assertThat(held()).isEmpty();
        assertThat(lock.heldFor()).isZero();
      }
      if (succeeded) {
        lock.succeeded();
      }
    } finally {
      lock.close();
    }
    assertThat(held()).isEmpty();
    assertThat(log.open()).as("journaled and not marked done").isEmpty();
    assertThat(Journal.pending(Journal.read(root))).as("what recover would find").isEmpty();
  }

  @Test
  void releasingTwiceDoesNothingTheSecondTime() throws Exception {
    Quiescer q = quiescer();
    Recording log = new Recording();
    QuiesceLock lock = q.quiesce(Progress.NONE, log);
    lock.succeeded();
    lock.close();
    Object after = observable();
    int events = log.events.size();
    lock.close();
    assertThat(observable()).isEqualTo(after);
    assertThat(log.events).hasSize(events);
    assertThat(held()).isEmpty();
  }

  /**
   * A lock that fails half way releases what it took before it throws; replaying what it journaled afterwards, as
   * a recover would after a crash just before the journal marked it done (twice, as a recover run again would),
   * is harmless.
   */
  @Test
  void aFailedLockLeavesNothingHeldAndReplayingItsUndoIsHarmless() throws Exception {
    Quiescer q = quiescer();
    assumeThat(locks(q)).as("a quiescer without LOCKS takes nothing, so nothing can fail half way").isTrue();
    failNextLock();
    Recording log = new Recording();
    assertThatThrownBy(() -> q.quiesce(Progress.NONE, log)).isInstanceOf(SnapstashException.class);
    assertThat(log.added()).as("it took something before failing, and journaled it").isNotEmpty();
    assertThat(held()).isEmpty();
    assertThat(log.open()).isEmpty();
    Services services = services();
    for (int round = 0; round < 2; round++) {
      for (Undo u : log.added()) {
        u.undo(services);
      }
    }
    assertThat(held()).isEmpty();
  }

  /**
   * A process killed at any instant leaves enough for recover: each undo step is in the journal before its side
   * effect exists (or, when undoing needs the lock's answer, before anything else is done), and is marked done only
   * once it is undone.
   */
  @Test
  void eachUndoStepIsJournaledBeforeItIsNeededAndMarkedDoneOnlyOnceUndone() throws Exception {
    Quiescer q = quiescer();
    Recording log = new Recording();
    QuiesceLock lock = q.quiesce(Progress.NONE, log);
    Set<String> whileHeld;
    int openWhileHeld;
    try {
      whileHeld = held();
      openWhileHeld = log.open().size();
      lock.succeeded();
    } finally {
      lock.close();
    }
    assertThat(openWhileHeld).as("undo steps journaled for what is held: " + whileHeld).isGreaterThanOrEqualTo(whileHeld.size());
    int slack = undoNeedsTheLocksAnswer() ? 1 : 0;
    List<Undo> open = new ArrayList<>();
    for (Event e : log.events) {
      if (e.added()) {
        assertThat(e.heldThen().size())
            .as("side effects " + e.heldThen() + " when journaling " + e.undo().describe() + " after " + open.size() + " other steps")
            .isLessThanOrEqualTo(open.size() + slack);
        open.add(e.undo());
      } else {
        open.remove(e.undo());
        assertThat(e.heldThen().size())
            .as("side effects " + e.heldThen() + " when marking " + e.undo().describe() + " done, with " + open.size() + " steps still open")
            .isLessThanOrEqualTo(open.size());
      }
    }
    if (locks(q)) {
      assertThat(log.added()).isNotEmpty();
    }
  }

  /**
   * A run killed while holding the lock: recover replays the journal (read back from its file, each step by the
   * name its provider declares) and releases; a second recover has nothing left to do.
   */
  @Test
  void recoverReplaysTheJournalAndReleases() throws Exception {
    Quiescer q = quiescer();
    Recording log = new Recording();
    QuiesceLock abandoned = q.quiesce(Progress.NONE, log);
    assertThat(abandoned).isNotNull();
    journal.close(); // the process is gone; its lock is never closed
    List<Undo> pending = Journal.pending(Journal.read(root));
    assertThat(pending).as("read back from the journal file").containsExactlyInAnyOrderElementsOf(log.open());
    for (Undo u : pending) {
      assertThat(Providers.undoTypes()).as(u.describe() + " is declared by a provider").containsValue(u.getClass());
    }
    if (locks(q)) {
      assertThat(held()).isNotEmpty();
      assertThat(pending).isNotEmpty();
    }
    RecoverEngine recover = new RecoverEngine(new BackupStore(root), services(), List.of(), Clock.systemUTC());
    RecoverEngine.Report report = recover.recover();
    assertThat(report.failed()).isEmpty();
    assertThat(report.undone()).hasSize(pending.size());
    assertThat(held()).isEmpty();
    assertThat(recover.recover().undone()).isEmpty();
  }

  /** Interrupted while it waits for the peer to drain, a lock stops at once, releases, and keeps the interrupt. */
  @Test
  void anInterruptWhileWaitingStopsPromptlyAndReleases() throws Exception {
    Quiescer q = quiescer();
    assumeThat(locks(q)).as("a quiescer without LOCKS never waits").isTrue();
    slowNextLock();
    Recording log = new Recording();
    AtomicReference<Object> outcome = new AtomicReference<>();
    AtomicBoolean stillInterrupted = new AtomicBoolean();
    Thread t = new Thread(() -> {
      try {
        outcome.set(q.quiesce(Progress.NONE, log));
      } catch (RuntimeException e) {
        outcome.set(e);
      }
      stillInterrupted.set(Thread.currentThread().isInterrupted());
    }, "quiesce");
    t.start();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (held().isEmpty() && t.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(held()).as("the lock was taken").isNotEmpty();
      Thread.sleep(300); // into the wait
      assertThat(t.isAlive()).as("still waiting").isTrue();
      long interrupted = System.nanoTime();
      t.interrupt();
      t.join(Duration.ofSeconds(10).toMillis());
      assertThat(t.isAlive()).as("stopped within 10 s of the interrupt, not at the end of its wait").isFalse();
      assertThat(Duration.ofNanos(System.nanoTime() - interrupted)).isLessThan(Duration.ofSeconds(10));
    } finally {
      if (t.isAlive()) {
        t.interrupt();
        t.join(Duration.ofSeconds(70).toMillis());
      }
      if (outcome.get() instanceof QuiesceLock l) {
        l.close();
      }
    }
    assertThat(outcome.get()).isInstanceOfSatisfying(SnapstashException.class,
        e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERRUPTED));
    assertThat(stillInterrupted).as("the interrupt flag is kept for the caller").isTrue();
    assertThat(held()).isEmpty();
    assertThat(log.open()).isEmpty();
  }

  /** One call to the journal, with what the peer showed at that instant. */
  protected record Event(boolean added, Undo undo, Set<String> heldThen) {}

  /** The case's real journal, with every call recorded along with what the peer showed when it came. */
  protected final class Recording implements UndoLog {
    final List<Event> events = new CopyOnWriteArrayList<>();

    @Override
    public void add(Undo undo) {
      events.add(new Event(true, undo, heldNow()));
      journal.add(undo);
    }

    @Override
    public void done(Undo undo) {
      journal.done(undo);
      events.add(new Event(false, undo, heldNow()));
    }

    private Set<String> heldNow() {
      try {
        return Set.copyOf(held());
      } catch (Exception e) {
        throw new AssertionError("could not read what the peer holds", e);
      }
    }

    List<Undo> added() {
      return events.stream().filter(Event::added).map(Event::undo).toList();
    }

    /** Journaled and not marked done. */
    List<Undo> open() {
      List<Undo> open = new ArrayList<>();
      for (Event e : events) {
        if (e.added()) {
          open.add(e.undo());
        } else {
          open.remove(e.undo());
        }
      }
      return open;
    }
  }
}
