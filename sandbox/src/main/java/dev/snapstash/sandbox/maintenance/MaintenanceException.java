package dev.snapstash.sandbox.maintenance;

/** A refused maintenance call: HTTP status plus Bitbucket's error message and exception name. */
public final class MaintenanceException extends RuntimeException {
  private final int status;
  private final String exceptionName;

  public MaintenanceException(int status, String message, String exceptionName) {
    super(message);
    this.status = status;
    this.exceptionName = exceptionName;
  }

  public int status() {
    return status;
  }

  public String exceptionName() {
    return exceptionName;
  }

  static MaintenanceException badToken(String what, int status) {
    return new MaintenanceException(
        status, "The " + what + " token is missing or does not match.",
        "com.atlassian.bitbucket.maintenance.InvalidMaintenanceTokenException");
  }

  static MaintenanceException notLocked(int status) {
    return new MaintenanceException(
        status, "The system is not in maintenance mode.",
        "com.atlassian.bitbucket.maintenance.MaintenanceNotActiveException");
  }
}
