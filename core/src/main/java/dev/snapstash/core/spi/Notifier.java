package dev.snapstash.core.spi;

import dev.snapstash.core.spi.RunReport;

/**
 * Tells people how a run went. Never receives a secret; must not throw for delivery failures (they are logged and
 * reported as a warning), since a failed notification must not turn a good backup into a failed run.
 */
public interface Notifier extends Strategy {

  void check(Findings findings);

  void send(RunReport report);
}
