package dev.snapstash.cli;

import java.time.Duration;

/**
 * Ctrl-C and SIGTERM run the same clean-up as any failure: the hook interrupts the main thread, whose failure
 * path unlocks the instance and removes the partial backup, and waits for it. The JVM halts when the hook
 * returns, so the hook must not return before the clean-up is done.
 *
 * <p>The exit code is the one the main thread's clean-up ended with (130 for an interrupted run), not the JVM's
 * 128 + signal number: once a signal has started the shutdown, {@code System.exit} from the main thread would
 * block for ever behind this hook, so the hook halts with the main thread's code itself.
 */
final class Shutdown {
  /** Long enough to cancel, unlock and delete a partial backup; bounded so a hung server cannot hold us forever. */
  private static final Duration CLEANUP_LIMIT = Duration.ofMinutes(2);

  private volatile boolean inProgress;
  private volatile boolean exiting;
  /** Set by the main thread when the hook is waiting for it; read by the hook once the main thread has ended. */
  private volatile Integer exitCode;

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
                  Integer code = s.exitCode;
                  if (code != null && !main.isAlive()) {
                    // The clean-up is done and the streams are flushed; the other hooks (the sandbox's) wait for
                    // what the main thread already closed, so nothing is cut short.
                    System.out.flush();
                    System.err.flush();
                    Runtime.getRuntime().halt(code);
                  }
                  // No code (the clean-up overran its limit): the JVM's own 128 + signal number says so.
                },
                "snapstash-shutdown"));
    return s;
  }

  /**
   * Called just before {@code System.exit}; from then on the hook must not wait for the main thread, which is
   * itself waiting for the hooks. Returns false when a signal's shutdown is already under way: then the main
   * thread must return instead of exiting, and the hook exits with {@code code} once it has.
   */
  synchronized boolean beginExit(int code) {
    if (inProgress) {
      exitCode = code;
      return false;
    }
    exiting = true;
    return true;
  }
}
