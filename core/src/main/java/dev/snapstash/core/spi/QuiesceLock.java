package dev.snapstash.core.spi;

/**
 * A held quiesce (maintenance lock). Closing it always releases the application; closing it without {@link
 * #succeeded()} first also cancels the backup task, so the instance records a failed backup rather than a good
 * one. Close is idempotent and must be attempted even after an interrupt.
 */
public interface QuiesceLock extends AutoCloseable {
  /** Reports overall progress (0..100) to the application; failures to report are logged, never thrown. */
  void progress(int percentage);

  /**
   * How long the application has been (or was) locked: from the lock being accepted until the unlock was answered,
   * or until now while still held. Zero for quiescers that do not lock.
   */
  java.time.Duration heldFor();

  /** Marks the backup as good: close() will report 100 and unlock without cancelling. */
  void succeeded();

  /** Releases the application. Throws if the release itself failed (the caller adds it to the first error). */
  @Override
  void close();
}
