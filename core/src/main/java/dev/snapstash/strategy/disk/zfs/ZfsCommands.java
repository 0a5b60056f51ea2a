package dev.snapstash.strategy.disk.zfs;

import dev.snapstash.core.process.Command;

/**
 * The {@code zfs(8)} commands of the zfs strategy, as data. Every listing runs in scripting mode ({@code -H}: no
 * header, one tab between fields) with exact numbers ({@code -p}), which is the output zfs-list(8) and zfs-get(8)
 * promise to scripts; the human form pads with spaces and rounds sizes.
 */
final class ZfsCommands {
  private ZfsCommands() {}

  /** The userland and kernel module versions, one per line (OpenZFS 0.8 and later). */
  static Command version(String zfs) {
    return Command.of(zfs, "version").capturingStdout();
  }

  /**
   * What the preflight needs to know of the dataset in one call, one {@code property<TAB>value} line each, read by
   * name rather than by position: its type (a volume has no files), where it is mounted and whether it is.
   */
  static Command properties(String zfs, String dataset) {
    return Command.of(zfs, "get", "-H", "-p", "-o", "property,value", "type,mountpoint,mounted", dataset(dataset))
        .capturingStdout();
  }

  /** Where the dataset is mounted: an absolute path, or {@code legacy} or {@code none}. */
  static Command mountpoint(String zfs, String dataset) {
    return Command.of(zfs, "get", "-H", "-p", "-o", "value", "mountpoint", dataset(dataset)).capturingStdout();
  }

  /**
   * The dataset and the file systems below it with their mount points: a snapshot of the dataset does not include
   * its children (only {@code zfs snapshot -r} would, and not atomically with respect to the home), so one mounted
   * inside the home would be silently missing from the backup.
   */
  static Command fileSystems(String zfs, String dataset) {
    return Command.of(zfs, "list", "-H", "-p", "-o", "name,mountpoint", "-r", "-t", "filesystem", dataset(dataset))
        .capturingStdout();
  }

  /**
   * An atomic, read-only snapshot of one file system: all of its blocks as of one transaction group, whatever the
   * home's size, and no freeze (zfs-snapshot(8)). Never {@code -r}: the home is one dataset.
   */
  static Command snapshot(String zfs, String snapshot) {
    return Command.of(zfs, "snapshot", snapshot(snapshot)).capturingStdout();
  }

  /**
   * The dataset's own snapshots ({@code -d 1}: not its children's), oldest first, with their creation time in
   * seconds since the epoch ({@code -p}).
   */
  static Command snapshots(String zfs, String dataset) {
    return Command.of(
            zfs, "list", "-H", "-p", "-t", "snapshot", "-o", "name,creation", "-s", "creation", "-d", "1",
            dataset(dataset))
        .capturingStdout();
  }

  /** Succeeds, printing its name, only if the snapshot exists. */
  static Command exists(String zfs, String snapshot) {
    return Command.of(zfs, "list", "-H", "-o", "name", "-t", "snapshot", snapshot(snapshot)).capturingStdout();
  }

  /**
   * Destroys one snapshot this strategy made. Never {@code -r} or {@code -R}, which would reach other snapshots of
   * that name below the dataset, or the clones someone made of it: zfs-destroy(8) then refuses, and the snapshot
   * stays until whoever cloned it is done. The argument is checked to name a snapshot, so that no bug can hand a
   * file system to it.
   */
  static Command destroy(String zfs, String snapshot) {
    return Command.of(zfs, "destroy", snapshot(snapshot)).capturingStdout();
  }

  /** {@code dataset@name}. */
  static String snapshotName(String dataset, String name) {
    return dataset(dataset) + "@" + name;
  }

  private static String dataset(String dataset) {
    if (dataset.isEmpty() || dataset.startsWith("-") || dataset.contains("@")) {
      throw new IllegalArgumentException("not a dataset name: " + dataset);
    }
    return dataset;
  }

  private static String snapshot(String snapshot) {
    int at = snapshot.indexOf('@');
    if (at <= 0 || at == snapshot.length() - 1 || snapshot.indexOf('@', at + 1) >= 0 || snapshot.startsWith("-")) {
      throw new IllegalArgumentException("not a snapshot name (dataset@name): " + snapshot);
    }
    return snapshot;
  }
}
