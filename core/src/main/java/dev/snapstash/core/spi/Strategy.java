package dev.snapstash.core.spi;

import java.util.Set;

/** What every strategy says about itself. */
public interface Strategy {
  /** Its configuration name, e.g. "rsync": the value of its kind's {@code type} key. */
  String name();

  /** What it can do; the engine asks this, never the name. */
  default Set<Capability> capabilities() {
    return Set.of();
  }
}
