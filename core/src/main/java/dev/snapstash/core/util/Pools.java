package dev.snapstash.core.util;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Thread-pool shutdown that clean-up code can rely on. */
public final class Pools {
  private static final Logger log = LoggerFactory.getLogger(Pools.class);

  private Pools() {}

  /**
   * Interrupts the pool's tasks and waits for them to end, even when this thread is itself interrupted (the flag
   * is kept): the clean-up that follows deletes the directories they write into and must not race a dying copy.
   */
  public static void stopAndWait(ExecutorService pool, Duration limit) {
    pool.shutdownNow();
    boolean interrupted = Thread.interrupted();
    try {
      if (!pool.awaitTermination(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("a task did not stop within {}s of being cancelled", limit.toSeconds());
      }
    } catch (InterruptedException e) {
      interrupted = true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
