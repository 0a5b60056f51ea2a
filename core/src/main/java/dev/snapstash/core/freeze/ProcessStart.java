package dev.snapstash.core.freeze;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * When a process started, in clock ticks since boot ({@code /proc/<pid>/stat}, field 22). A pid and its start
 * time name one process for the life of the machine: a pid alone may be reused by the time {@code recover} runs,
 * and it must never kill a stranger.
 */
public final class ProcessStart {
  private ProcessStart() {}

  /** The start time of {@code pid}, or empty if no such process runs (an exited one not yet reaped included). */
  public static OptionalLong of(long pid) {
    try {
      return parse(Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException gone) {
      return OptionalLong.empty();
    }
  }

  /**
   * Field 22 of a stat line. The second field is the command name in parentheses and may itself hold spaces and
   * parentheses, so the fields are counted from the last ')'.
   */
  static OptionalLong parse(String stat) {
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      return OptionalLong.empty();
    }
    String[] rest = stat.substring(close + 1).strip().split("\\s+");
    // rest[0] is field 3 (state), so field 22 is rest[19]
    // a zombie has exited: its parent (init, for a daemon) reaps it when it gets round to it
    if (rest.length < 20 || rest[0].equals("Z") || rest[0].equals("X")) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(rest[19]));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }
}
