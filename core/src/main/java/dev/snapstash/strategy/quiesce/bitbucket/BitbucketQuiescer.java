package dev.snapstash.strategy.quiesce.bitbucket;

import dev.snapstash.core.bitbucket.BitbucketClient;
import dev.snapstash.core.bitbucket.MaintenanceStatus;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.util.Sleeper;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quiesces Bitbucket with its maintenance protocol: lock, start an external backup, poll until the database and
 * SCM are drained. Unlike the DIY scripts, polling backs off gently (first pause {@code pollInterval}, growing by a quarter each time, to at most 500 ms)
 * and has a deadline, and every failure after the lock cancels the task and unlocks before it is thrown.
 */
public final class BitbucketQuiescer implements Quiescer {
  private static final Logger log = LoggerFactory.getLogger(BitbucketQuiescer.class);
  /**
   * Long pauses only add to the lock window: a drained instance waits for our next poll. Growing by a quarter
   * bounds that wait to about a fifth of the time spent draining, and a poll is one cheap GET. The ceiling keeps a
   * long drain at two polls a second, well under Data Center's rate limiting (a bucket of 60 refilled at 5 a
   * second per user and node, the settings page's values; see the strategy page): the first two seconds take
   * about 14 requests, every later second 2.
   */
  static final Duration MAX_POLL = Duration.ofMillis(500);

  private final BitbucketClient client;
  private final Duration drainTimeout;
  private final Duration pollInterval;
  private final Sleeper sleeper;
  private final LongSupplier nanoTime;

  public BitbucketQuiescer(
      BitbucketClient client,
      Duration drainTimeout,
      Duration pollInterval,
      Sleeper sleeper,
      LongSupplier nanoTime) {
    this.client = client;
    this.drainTimeout = drainTimeout;
    this.pollInterval = pollInterval;
    this.sleeper = sleeper;
    this.nanoTime = nanoTime;
  }

  public BitbucketQuiescer(BitbucketClient client, Duration drainTimeout, Duration pollInterval) {
    this(client, drainTimeout, pollInterval, Sleeper.REAL, System::nanoTime);
  }

  @Override
  public String name() {
    return "bitbucket";
  }

  @Override
  public String applicationVersion() {
    try {
      return client.version();
    } catch (SnapstashException e) {
      return null;
    }
  }

  @Override
  public java.util.Set<dev.snapstash.core.spi.Capability> capabilities() {
    return java.util.Set.of(dev.snapstash.core.spi.Capability.LOCKS);
  }

  @Override
  public java.util.List<dev.snapstash.core.spi.ApplicationNode> applicationNodes() {
    try {
      return client.cluster().nodes().stream()
          .map(n -> new dev.snapstash.core.spi.ApplicationNode(
              n.id(), n.name(), n.address(), n.port(), n.buildVersion(), n.local()))
          .toList();
    } catch (SnapstashException e) {
      log.debug("cluster nodes not read for the manifest: {}", e.getMessage());
      return java.util.List.of();
    }
  }

  /**
   * Reachability (the anonymous version call), then credentials and the SYSADMIN permission through {@code GET
   * /rest/api/1.0/admin/cluster}, documented as needing SYS_ADMIN, whose answer also names the nodes. No
   * maintenance call: the token-less status is served to anyone and proves nothing. A refused login ends the
   * check, and is not tried again.
   */
  @Override
  public void check(Findings findings) {
    String subject = "instance " + client.baseUrl();
    boolean credentials = true;
    try {
      client.credentials(); // a secret that cannot be read is a problem of its own, reachable instance or not
    } catch (SnapstashException e) {
      findings.problem(subject, e);
      credentials = false;
    }
    try {
      String version = client.version();
      findings.ok(subject, "Bitbucket " + version + " answers at " + client.effectiveBaseUrl() + " ("
          + client.transport().proxies().describe(client.effectiveBaseUrl()) + ")");
    } catch (SnapstashException e) {
      findings.problem(subject, e);
      return;
    }
    if (!credentials) {
      return;
    }
    try {
      BitbucketClient.Cluster cluster = client.cluster();
      List<BitbucketClient.Node> nodes = cluster.nodes();
      findings.ok(subject, "credentials accepted with the SYSADMIN permission; "
          + (nodes.isEmpty() ? "no cluster nodes reported"
              : nodes.size() + (nodes.size() == 1 ? " node: " : " nodes: ")
                  + String.join(", ", nodes.stream().map(BitbucketClient.Node::describe).toList())));
    } catch (SnapstashException e) {
      findings.problem(subject, e);
    }
  }

  @Override
  public QuiesceLock quiesce(Progress progress, UndoLog undo) {
    boolean interrupted = Thread.interrupted();
    if (interrupted) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted before locking; nothing was locked");
    }
    String unlockToken;
    try {
      unlockToken = deferringInterrupt(client::lock);
    } catch (SnapstashException e) {
      throw lockAnswerLost(e);
    }
    long lockedAt = nanoTime.getAsLong();
    Held held = new Held(unlockToken, lockedAt, undo);
    // If the journal cannot be written, release at once: a lock we could not record is one a crash would leak.
    try {
      undo.add(held.unlock);
    } catch (RuntimeException e) {
      held.closeQuietly(e);
      throw e;
    }
    log.info("locked {}", client.baseUrl());
    FaultPoints.hit(FaultPoints.AFTER_LOCK);
    try {
      held.cancelToken = deferringInterrupt(() -> client.startBackup(unlockToken));
      held.cancel = new BitbucketUndo.CancelTask(client.baseUrl(), held.cancelToken);
      undo.add(held.cancel);
      if (Thread.currentThread().isInterrupted()) {
        throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while locking; the instance was unlocked");
      }
      log.info("external backup started; waiting for the instance to drain");
      awaitDrained(unlockToken, progress);
      return held;
    } catch (RuntimeException e) {
      held.closeQuietly(e);
      throw e;
    }
  }

  /**
   * A lock request whose answer never came (connection lost, timeout) may have locked the instance with a token
   * nobody read. It is not sent again: a second lock would only be refused, and the token would still be unknown.
   * The instance's /status says whether it is in maintenance now, which the operator must then release by hand.
   */
  private SnapstashException lockAnswerLost(SnapstashException e) {
    if (e.kind() != ErrorKind.UNREACHABLE || e instanceof BitbucketClient.Refused) {
      return e;
    }
    boolean maintenance = client.serverState().filter("MAINTENANCE"::equals).isPresent();
    if (!maintenance) {
      return e;
    }
    return new SnapstashException(
        ErrorKind.LOCK,
        e.getMessage() + "; the instance is now in maintenance mode, most likely locked by this request with an"
            + " unlock token that never arrived: an administrator must release it (Bitbucket's maintenance page, or"
            + " a restart of the instance)",
        e);
  }

  /**
   * Runs a call that creates state on the server (the lock, the backup task) with any interrupt held back until it
   * returns. Interrupted mid-flight, the server may have granted the lock while we never read its token: an
   * instance locked with a token nobody knows cannot be unlocked, not even by {@code recover}. The call is bounded
   * by the request timeout; the interrupt is restored, and honoured, right after.
   */
  private static <T> T deferringInterrupt(java.util.function.Supplier<T> call) {
    // On its own thread, joined with CompletableFuture.join, which does not give way to interrupts: an interrupt
    // arriving during the HTTP exchange stays pending on this thread instead of aborting the exchange.
    try {
      return java.util.concurrent.CompletableFuture.supplyAsync(call).join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw SnapstashException.internal("the request to Bitbucket failed: " + e.getCause(), e.getCause());
    }
  }

  private void awaitDrained(String unlockToken, Progress progress) {
    long deadline = nanoTime.getAsLong() + drainTimeout.toNanos();
    Duration pause = pollInterval;
    while (true) {
      MaintenanceStatus s = client.drainStatus(unlockToken);
      if (!s.taskRunning()) {
        throw new SnapstashException(
            ErrorKind.LOCK,
            "Bitbucket ended the backup task while draining (state " + s.taskState() + "); see the instance's log");
      }
      if (s.drained()) {
        log.info("drained: db-state {}, scm-state {}", s.dbState(), s.scmState());
        progress.report("drain", 1.0, "drained");
        return;
      }
      progress.report("drain", -1, "db " + s.dbState() + ", scm " + s.scmState());
      FaultPoints.hit(FaultPoints.DURING_DRAIN);
      if (nanoTime.getAsLong() - deadline >= 0) {
        throw new SnapstashException(
            ErrorKind.LOCK,
            "Bitbucket did not drain within "
                + format(drainTimeout)
                + " (db-state "
                + s.dbState()
                + ", scm-state "
                + s.scmState()
                + "); raise backup.drain-timeout or find what holds the instance busy");
      }
      Sleeper.sleepOrThrow(sleeper, pause);
      Duration next = pause.multipliedBy(5).dividedBy(4);
      pause = next.compareTo(MAX_POLL) > 0 ? MAX_POLL : next;
    }
  }

  private static String format(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
  }

  private final class Held implements QuiesceLock {
    private final String unlockToken;
    private final long lockedAt;
    private final UndoLog undo;
    private final BitbucketUndo.Unlock unlock;
    private String cancelToken;
    private BitbucketUndo.CancelTask cancel;
    private boolean succeeded;
    private boolean closed;
    private long unlockedAt;

    Held(String unlockToken, long lockedAt, UndoLog undo) {
      this.unlockToken = unlockToken;
      this.lockedAt = lockedAt;
      this.undo = undo;
      this.unlock = new BitbucketUndo.Unlock(client.baseUrl(), unlockToken);
    }

    void closeQuietly(RuntimeException first) {
      try {
        close();
      } catch (RuntimeException cleanup) {
        first.addSuppressed(cleanup);
      }
    }

    @Override
    public void progress(int percentage) {
      try {
        client.progress(unlockToken, percentage);
      } catch (SnapstashException e) {
        if (e.kind() == ErrorKind.INTERRUPTED) {
          // The engine stops its reporter once the copies are done, which may cut a report short: not a problem.
          log.debug("progress report to the instance cut short: {}", e.getMessage());
        } else {
          log.warn("could not report progress to the instance: {}", e.getMessage());
        }
      }
    }

    @Override
    public void succeeded() {
      succeeded = true;
    }

    @Override
    public Duration heldFor() {
      return Duration.ofNanos((closed ? unlockedAt : nanoTime.getAsLong()) - lockedAt);
    }

    @Override
    public synchronized void close() {
      if (closed) {
        return;
      }
      // Clearing the interrupt flag matters: an interrupted thread's HTTP call would fail and leave the lock held.
      boolean interrupted = Thread.interrupted();
      try {
        RuntimeException first = null;
        if (succeeded) {
          progress(100);
        } else if (cancelToken != null) {
          try {
            deferringInterrupt(() -> {
              client.cancel(cancelToken);
              return null;
            });
            undo.done(cancel);
            log.info("backup task cancelled");
          } catch (RuntimeException e) {
            first = e;
          }
        }
        try {
          FaultPoints.hit(FaultPoints.BEFORE_UNLOCK);
          // A second SIGTERM or Ctrl-C arriving now must not abort the request that ends the downtime.
          deferringInterrupt(() -> {
            client.unlock(unlockToken);
            return null;
          });
          unlockedAt = nanoTime.getAsLong();
          closed = true;
          FaultPoints.hit(FaultPoints.AFTER_UNLOCK_ANSWERED);
          if (cancel != null && succeeded) {
            undo.done(cancel); // a task that succeeded needs no cancelling
          }
          undo.done(unlock);
          log.info("unlocked {} after {} ms", client.baseUrl(), heldFor().toMillis());
        } catch (RuntimeException e) {
          SnapstashException unlock =
              new SnapstashException(
                  ErrorKind.LOCK,
                  "could not unlock Bitbucket at " + client.baseUrl() + "; it stays in maintenance mode until"
                      + " `snapstash recover` is run: " + e.getMessage(),
                  e);
          if (first != null) {
            unlock.addSuppressed(first);
          }
          throw unlock;
        }
        if (first != null) {
          log.warn("could not cancel the backup task (the instance was unlocked): {}", first.getMessage());
        }
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
