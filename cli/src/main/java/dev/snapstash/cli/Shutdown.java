package dev.snapstash.cli;

import java.time.Duration;

/**
 * Ctrl-C and SIGTERM run the same clean-up as any failure: the hook interrupts the main thread, whose failure
 * path unlocks the instance and removes the partial backup, and waits for it. The JVM halts when the hook
 * returns, so the hook must not return before the clean-up is done.
 */
final class Shutdown {
  /** Long enough to cancel, unlock and delete a partial backup; bounded so a hung server cannot hold us forever. */
  private static final Duration CLEANUP_LIMIT = Duration.ofMinutes(2);

  private volatile boolean inProgress;
  private volatile boolean exiting;

  private Shutdown() {}

  static Shutdown install(Thread main) {
    Shutdown s = new Shutdown();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  synchronized (s) {
                    if (!s.exiting) {
                      s.inProgress = true;
                    }
                  }
                  if (s.exiting) {
                    return; // our own System.exit: the main thread is waiting for us, not working
                  }
                  if (main.isAlive()) {
                    main.interrupt();
                    try {
                      main.join(CLEANUP_LIMIT.toMillis());
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                  }
                },
                "snapstash-shutdown"));
    return s;
  }

  /**
   * Called just before {@code System.exit}; from then on the hook must not wait for the main thread, which is
   * itself waiting for the hooks.
   */
  synchronized boolean beginExit() {
    if (inProgress) {
      return false;
    }
    exiting = true;
    return true;
  }
}
