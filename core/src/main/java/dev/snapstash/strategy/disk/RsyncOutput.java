package dev.snapstash.strategy.disk;

import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses what rsync prints with {@code --info=progress2 --stats} (also for the btrfs strategy's rsync transfer). */
public final class RsyncOutput {
  private static final Pattern PROGRESS = Pattern.compile("^\\s*[\\d,.]+[KMGT]?\\s+(\\d{1,3})%\\s");
  private static final Pattern STAT = Pattern.compile("^([A-Za-z ]+):\\s+([\\d,]+)");

  public long files;
  public long totalBytes;
  public long transferredBytes;
  /** rsync's exit code: 0, or one the command allowed (23 and 24 while the instance is live). */
  public int exitCode;

  private RsyncOutput() {}

  public static RsyncOutput empty() {
    return new RsyncOutput();
  }

  /** The percentage in a progress2 line ("  1,234,567  45%  10.00MB/s  0:00:01 (xfr#1, to-chk=3/20)"). */
  public static OptionalDouble progress(String line) {
    Matcher m = PROGRESS.matcher(line);
    return m.find() ? OptionalDouble.of(Integer.parseInt(m.group(1)) / 100.0) : OptionalDouble.empty();
  }

  /** Adds another command's figures to these: one copy made by several rsync commands. */
  public void add(RsyncOutput other) {
    files += other.files;
    totalBytes += other.totalBytes;
    addTransfer(other);
  }

  /**
   * Adds what another command moved, and keeps its exit 23 if it had one: that is the exit a live copy must act
   * on (see {@code RsyncDiskStrategy}), whatever the other commands of the copy returned.
   */
  public void addTransfer(RsyncOutput other) {
    transferredBytes += other.transferredBytes;
    if (other.exitCode == RsyncCommands.PARTIAL) {
      exitCode = RsyncCommands.PARTIAL;
    }
  }

  /** Takes the numbers of interest from a --stats line, ignoring everything else. */
  public void accept(String line) {
    Matcher m = STAT.matcher(line.strip());
    if (!m.find()) {
      return;
    }
    long value = Long.parseLong(m.group(2).replace(",", ""));
    switch (m.group(1).strip()) {
      case "Number of files" -> files = value;
      case "Total file size" -> totalBytes = value;
      case "Total transferred file size" -> transferredBytes = value;
      default -> {}
    }
  }
}
