package dev.snapstash.cli;

import dev.snapstash.core.error.ErrorKind;

/** The one place error kinds become exit codes. Documented in README.md; a test keeps the two in step. */
public final class ExitCodes {
  public static final int OK = 0;

  private ExitCodes() {}

  public static int of(ErrorKind kind) {
    return switch (kind) {
      case INTERNAL -> 1;
      case USAGE -> 2;
      case CONFIG -> 3;
      case UNREACHABLE -> 4;
      case AUTHENTICATION -> 5;
      case LOCK -> 6;
      case PRECONDITION -> 7;
      case EXTERNAL_COMMAND -> 8;
      case STORAGE -> 9;
      case BUSY -> 10;
      case VERIFICATION -> 11;
      case ARCHIVE -> 12;
      case INTERRUPTED -> 130;
    };
  }
}
