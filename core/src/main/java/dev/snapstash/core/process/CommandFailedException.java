package dev.snapstash.core.process;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;

/** An external command exited with a code that is not success; keeps the redacted tail of its standard error. */
public class CommandFailedException extends SnapstashException {
  private final String program;
  private final int exitCode;
  private final String stderrTail;

  public CommandFailedException(String message, String program, int exitCode, String stderrTail) {
    super(ErrorKind.EXTERNAL_COMMAND, message);
    this.program = program;
    this.exitCode = exitCode;
    this.stderrTail = stderrTail;
  }

  public String program() {
    return program;
  }

  public int exitCode() {
    return exitCode;
  }

  public String stderrTail() {
    return stderrTail;
  }
}
