package dev.snapstash.strategy.quiesce.none;

import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Quiescer;
import java.time.Duration;

/**
 * Zero-downtime mode: no lock at all. Only consistent with an atomic snapshot of the home (btrfs, EBS, ZFS); the
 * engine refuses it with a file-by-file copy.
 */
public final class NoQuiescer implements Quiescer {
  @Override
  public String name() {
    return "none";
  }


  @Override
  public void check(Findings findings) {
    findings.ok("quiesce", "none: the instance is not locked (zero-downtime mode)");
  }

  @Override
  public QuiesceLock quiesce(Progress progress, dev.snapstash.core.spi.UndoLog undo) {
    return new QuiesceLock() {
      @Override
      public void progress(int percentage) {}

      @Override
      public void succeeded() {}

      @Override
      public Duration heldFor() {
        return Duration.ZERO;
      }

      @Override
      public void close() {}
    };
  }
}
