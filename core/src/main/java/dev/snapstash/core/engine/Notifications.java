package dev.snapstash.core.engine;

import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.RunReport;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a run's outcome to every configured notifier, quietly: a notifier that fails is logged as a warning and
 * never changes the run's result or exit code, and does not keep the notifiers after it from being told. It is only
 * called once the run's outcome is decided and the instance unlocked, so a notifier slow to answer delays the end of
 * the run, never the unlock; how long one may take is its own bound (the webhook's request timeout).
 */
final class Notifications {
  private static final Logger log = LoggerFactory.getLogger(Notifications.class);

  private final List<Notifier> notifiers;

  Notifications(List<Notifier> notifiers) {
    this.notifiers = List.copyOf(notifiers);
  }

  List<Notifier> notifiers() {
    return notifiers;
  }

  void send(RunReport report) {
    for (Notifier n : notifiers) {
      try {
        n.send(report);
      } catch (RuntimeException e) {
        log.warn("notification via {} failed: {}", n.name(), e.getMessage());
      }
    }
  }
}
