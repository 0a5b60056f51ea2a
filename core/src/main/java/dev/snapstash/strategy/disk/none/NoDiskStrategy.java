package dev.snapstash.strategy.disk.none;

import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.RestoreContext;

/** Backs up no files: for a database-only backup, or a home covered by other means. */
public final class NoDiskStrategy implements DiskStrategy {
  @Override
  public String name() {
    return "none";
  }

  /** Copying nothing is as good as an instant's snapshot: it never makes a backup without a lock inconsistent. */
  @Override
  public java.util.Set<dev.snapstash.core.spi.Capability> capabilities() {
    return java.util.Set.of(dev.snapstash.core.spi.Capability.ATOMIC_CAPTURE);
  }

  @Override
  public void check(Findings findings) {
    findings.ok("disk", "none: the home is not copied");
  }

  @Override
  public Run begin(java.nio.file.Path backupRoot) {
    return context -> CopyResult.empty(name());
  }

  @Override
  public void prepareRestore(RestoreContext context) {}

  @Override
  public void restore(RestoreContext context) {}
}
