package dev.snapstash.core.error;

import java.util.Objects;

/**
 * The one exception type snapstash throws on purpose. Its message is a single sentence for the operator that
 * names the problem and, where there is one, the configuration key or option that fixes it.
 *
 * <p>Clean-up failures after a first error are attached with {@link #addSuppressed(Throwable)} so the first error
 * stays what the user sees and nothing is swallowed.
 */
public class SnapstashException extends RuntimeException {
  private final ErrorKind kind;

  public SnapstashException(ErrorKind kind, String message) {
    super(message);
    this.kind = Objects.requireNonNull(kind, "kind");
  }

  public SnapstashException(ErrorKind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = Objects.requireNonNull(kind, "kind");
  }

  public ErrorKind kind() {
    return kind;
  }

  public static SnapstashException config(String message) {
    return new SnapstashException(ErrorKind.CONFIG, message);
  }

  public static SnapstashException precondition(String message) {
    return new SnapstashException(ErrorKind.PRECONDITION, message);
  }

  public static SnapstashException storage(String message, Throwable cause) {
    return new SnapstashException(ErrorKind.STORAGE, message, cause);
  }

  public static SnapstashException internal(String message, Throwable cause) {
    return new SnapstashException(ErrorKind.INTERNAL, message, cause);
  }
}
