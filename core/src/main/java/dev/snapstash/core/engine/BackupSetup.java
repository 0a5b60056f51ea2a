package dev.snapstash.core.engine;

import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Quiescer;
import java.time.Clock;
import java.time.Duration;
import java.util.function.LongSupplier;

/** What a backup is built from, handed as one to the parts of the engine (preflight, run, failure path). */
record BackupSetup(
    BackupEngine.Settings settings,
    Quiescer quiescer,
    DiskStrategy disk,
    DatabaseStrategy database,
    Notifications notifications,
    Archives archives,
    Clock clock,
    LongSupplier nanoTime) {

  /** Whether the instance is really locked; without (zero-downtime) the order of the copies carries consistency. */
  boolean locks() {
    return quiescer.capabilities().contains(Capability.LOCKS);
  }

  long millisSince(long t) {
    return Duration.ofNanos(nanoTime.getAsLong() - t).toMillis();
  }
}
