package dev.snapstash.core.engine;

import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns the strategies' per-phase fractions into one percentage and reports it to the locked instance, from its
 * own thread, once a second at most and only when it changed. Reporting over HTTP on the copy threads would let a
 * slow instance stall the copy (rsync blocks when nobody reads its output).
 */
final class LockProgress implements Progress, AutoCloseable {
  /** Draining is done when the copies start; what is left until 100 is finishing and unlocking. */
  private static final int START = 5;
  private static final int END = 95;

  private final Progress display;
  private final QuiesceLock lock;
  private final Map<String, Double> phases = new ConcurrentHashMap<>();
  private final Thread reporter;
  private volatile int lastSent = -1;

  LockProgress(Progress display, QuiesceLock lock, Iterable<String> phaseNames) {
    this.display = display;
    this.lock = lock;
    phaseNames.forEach(p -> phases.put(p, 0.0));
    this.reporter = new Thread(this::loop, "lock-progress");
    reporter.setDaemon(true);
    reporter.start();
  }

  @Override
  public void report(String phase, double fraction, String detail) {
    display.report(phase, fraction, detail);
    if (fraction >= 0 && phases.containsKey(phase)) {
      // Never backwards: a phase made of several commands (rsync's delta passes) restarts its own count at 0.
      phases.merge(phase, Math.min(1.0, fraction), Math::max);
    }
  }

  int percentage() {
    if (phases.isEmpty()) {
      return START;
    }
    double avg = phases.values().stream().mapToDouble(Double::doubleValue).average().orElse(0);
    return START + (int) Math.floor((END - START) * avg);
  }

  private void loop() {
    try {
      while (!Thread.currentThread().isInterrupted()) {
        int p = percentage();
        if (p != lastSent) {
          lock.progress(p);
          lastSent = p;
        }
        Thread.sleep(1000);
      }
    } catch (InterruptedException e) {
      // closed
    }
  }

  @Override
  public void close() {
    reporter.interrupt();
    try {
      reporter.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
