package dev.snapstash.sandbox;

import java.time.Duration;

/**
 * Fault and timing knobs for tests, settable at any time on a running sandbox (in-process through {@link
 * RunningSandbox#knobs()}, or over HTTP as an admin at {@code /rest/sandbox/1.0/knobs} for a detached one).
 * Thread-safe.
 */
public final class SandboxKnobs {
  private volatile Duration preReceiveDelay = Duration.ZERO;
  private volatile Duration minDrain = Duration.ofMillis(200);
  private volatile String taskOutcome;

  /**
   * Makes every push wait this long in a real {@code pre-receive} hook, after its pack is received and before any
   * ref moves, so a test can hold a push in flight across the lock.
   */
  public SandboxKnobs preReceiveDelay(Duration d) {
    this.preReceiveDelay = d == null ? Duration.ZERO : d;
    return this;
  }

  public Duration preReceiveDelay() {
    return preReceiveDelay;
  }

  /**
   * The least time between starting a backup task and reporting DRAINED, like a real instance closing its
   * connections; clients then always see DRAINING first. Default 200 ms.
   */
  public SandboxKnobs minDrain(Duration d) {
    this.minDrain = d == null ? Duration.ZERO : d;
    return this;
  }

  public Duration minDrain() {
    return minDrain;
  }

  /**
   * Makes a running backup task end in this state ({@code FAILED} or {@code CANCELED}) at the next status poll, or
   * {@code null} for normal behaviour.
   */
  public SandboxKnobs taskOutcome(String state) {
    this.taskOutcome = state;
    return this;
  }

  public String taskOutcome() {
    return taskOutcome;
  }
}
