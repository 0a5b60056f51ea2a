package dev.snapstash.cli;

import dev.snapstash.core.spi.Progress;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows progress on stderr: a bar per phase on a terminal, and otherwise (cron, CI, a pipe) a plain line per
 * phase at most every {@code interval}, plus one when the phase ends, so logs stay readable.
 */
final class ConsoleProgress implements Progress, AutoCloseable {
  private static final long INTERVAL_NANOS = 5_000_000_000L;

  private final boolean terminal;
  private final PrintStream err;
  private final Map<String, ProgressBar> bars = new ConcurrentHashMap<>();
  private final Map<String, Long> lastLine = new ConcurrentHashMap<>();
  private final java.util.Set<String> finished = ConcurrentHashMap.newKeySet();

  ConsoleProgress(boolean terminal, PrintStream err) {
    this.terminal = terminal;
    this.err = err;
  }

  static ConsoleProgress forThisProcess() {
    return new ConsoleProgress(System.console() != null, System.err);
  }

  @Override
  public void report(String phase, double fraction, String detail) {
    if (terminal) {
      if (fraction < 0) {
        return;
      }
      ProgressBar bar =
          bars.computeIfAbsent(
              phase,
              p ->
                  new ProgressBarBuilder()
                      .setTaskName(p)
                      .setInitialMax(1000)
                      .setStyle(ProgressBarStyle.ASCII)
                      .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(err))
                      .build());
      bar.stepTo(Math.round(fraction * 1000));
      if (detail != null && !detail.isEmpty()) {
        bar.setExtraMessage(detail);
      }
      if (fraction >= 1) {
        bar.close();
      }
      return;
    }
    long now = System.nanoTime();
    Long last = lastLine.get(phase);
    boolean done = fraction >= 1;
    if (done && !finished.add(phase)) {
      return; // one line per finished phase, however many times it is reported done
    }
    if (!done) {
      finished.remove(phase);
    }
    if (done || last == null || now - last >= INTERVAL_NANOS) {
      lastLine.put(phase, now);
      String pct = fraction < 0 ? "" : String.format(Locale.ROOT, " %3.0f%%", fraction * 100);
      synchronized (err) {
        err.println(phase + pct + (detail == null || detail.isEmpty() ? "" : "  " + detail));
      }
    }
  }

  @Override
  public void close() {
    bars.values().forEach(ProgressBar::close);
  }
}
