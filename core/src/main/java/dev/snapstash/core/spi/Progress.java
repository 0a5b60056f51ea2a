package dev.snapstash.core.spi;

/**
 * Where strategies report how far they are. Implementations are thread-safe (database and home copies run in
 * parallel) and cheap to call often.
 */
public interface Progress {
  /**
   * Reports work done in a phase.
   *
   * @param phase short name, e.g. "database" or "home"
   * @param fraction 0.0 to 1.0, or a negative number when unknown
   * @param detail a short human line ("1.2 GiB of 3.4 GiB"), never a secret
   */
  void report(String phase, double fraction, String detail);

  Progress NONE = (phase, fraction, detail) -> {};
}
