package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.spi.Progress;

/** One phase's progress made of several commands running at once: reported as the mean of their fractions. */
final class Shares {
  private final Progress progress;
  private final String phase;
  private final double[] fractions;

  private Shares(Progress progress, String phase, int n) {
    this.progress = progress;
    this.phase = phase;
    this.fractions = new double[n];
  }

  /** One {@link Progress} per command; each reports into its own share of {@code phase}. */
  static Progress[] of(Progress progress, String phase, int n) {
    Shares shares = new Shares(progress, phase, n);
    Progress[] slots = new Progress[n];
    for (int i = 0; i < n; i++) {
      int slot = i;
      slots[i] = (p, fraction, detail) -> shares.report(slot, fraction);
    }
    return slots;
  }

  private void report(int slot, double fraction) {
    double mean;
    synchronized (fractions) {
      if (fraction >= 0) {
        fractions[slot] = Math.max(fractions[slot], Math.min(1, fraction));
      }
      double sum = 0;
      for (double f : fractions) {
        sum += f;
      }
      mean = sum / fractions.length;
    }
    progress.report(phase, mean, "");
  }
}
