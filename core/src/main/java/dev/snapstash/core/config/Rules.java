package dev.snapstash.core.config;

import java.util.function.UnaryOperator;

/**
 * Checks of single configuration values that strategies' providers share ({@code Provider#rules}): each returns the
 * value or throws {@link IllegalArgumentException} with a phrase that follows the quoted value in the message.
 */
public final class Rules {
  private Rules() {}

  /** A TCP port: 1 to 65535. */
  public static UnaryOperator<Object> port() {
    return v -> {
      int p = (Integer) v;
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException("is not a port number (1 to 65535)");
      }
      return v;
    };
  }

  /** A whole number no smaller than {@code min}. */
  public static UnaryOperator<Object> atLeast(long min) {
    return v -> {
      long n = ((Number) v).longValue();
      if (n < min) {
        throw new IllegalArgumentException(min == 0 ? "must not be negative" : "must be at least " + min);
      }
      return v;
    };
  }

  /** A whole number from {@code min} to {@code max}. */
  public static UnaryOperator<Object> between(long min, long max) {
    return v -> {
      long n = ((Number) v).longValue();
      if (n < min || n > max) {
        throw new IllegalArgumentException("must be between " + min + " and " + max);
      }
      return v;
    };
  }

  /** One of the given words. */
  public static UnaryOperator<Object> oneOf(String... words) {
    return v -> {
      for (String w : words) {
        if (w.equals(v)) {
          return v;
        }
      }
      throw new IllegalArgumentException("is not one of " + String.join(", ", words));
    };
  }
}
