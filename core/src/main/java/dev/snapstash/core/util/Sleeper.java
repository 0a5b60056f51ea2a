package dev.snapstash.core.util;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.time.Duration;

/** Pauses; a parameter wherever code waits, so that tests run in milliseconds. */
@FunctionalInterface
public interface Sleeper {
  void sleep(Duration d) throws InterruptedException;

  Sleeper REAL = d -> Thread.sleep(d.toMillis());

  /** Sleeps, turning an interrupt into the INTERRUPTED error (the interrupt flag stays set). */
  static void sleepOrThrow(Sleeper s, Duration d) {
    try {
      s.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted", e);
    }
  }
}
