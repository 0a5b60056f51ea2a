package dev.snapstash.strategy.disk.btrfs;

import dev.snapstash.core.process.Command;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The btrfs-progs (and util-linux) commands of the btrfs strategy, as data. */
final class BtrfsCommands {
  private BtrfsCommands() {}

  static Command version() {
    return Command.of("btrfs", "--version").capturingStdout();
  }

  /** Succeeds only on a subvolume; prints its UUID, flags and generation. */
  static Command show(Path subvolume) {
    return Command.of("btrfs", "subvolume", "show", subvolume.toString()).capturingStdout();
  }

  /** Subvolumes below {@code path}: a snapshot does not include them, so they would silently be missing. */
  static Command nested(Path path) {
    return Command.of("btrfs", "subvolume", "list", "-o", path.toString()).capturingStdout();
  }

  /** The filesystem (device) and its type that holds {@code path}. */
  static Command mountOf(Path path) {
    return Command.of("findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", path.toString()).capturingStdout();
  }

  /**
   * Writes the filesystem's dirty data out before the snapshot. btrfs flushes the snapshotted subvolume's delayed
   * allocations itself; the sync bounds how much of that work happens inside the snapshot call.
   */
  static Command sync(Path path) {
    return Command.of("sync", "-f", path.toString());
  }

  /** A read-only snapshot: atomic, and the only kind {@code btrfs send} accepts. */
  static Command snapshotReadOnly(Path subvolume, Path snapshot) {
    return Command.of("btrfs", "subvolume", "snapshot", "-r", subvolume.toString(), snapshot.toString()).capturingStdout();
  }

  /** A writable snapshot: a restore on the same filesystem in constant time. */
  static Command snapshotWritable(Path subvolume, Path target) {
    return Command.of("btrfs", "subvolume", "snapshot", subvolume.toString(), target.toString()).capturingStdout();
  }

  static Command create(Path subvolume) {
    return Command.of("btrfs", "subvolume", "create", subvolume.toString()).capturingStdout();
  }

  /**
   * Deletes a subvolume: its directory goes at once, its blocks are freed in the background. Not waiting for the
   * commit keeps a transaction commit out of every backup's tail; after a power cut a deleted snapshot may come
   * back, and is pruned again by the next backup.
   */
  static Command delete(Path subvolume) {
    return Command.of("btrfs", "subvolume", "delete", subvolume.toString()).capturingStdout();
  }

  /** The send stream of {@code snapshot}, incremental against {@code parent} when there is one. */
  static Command send(Path snapshot, Optional<Path> parent) {
    List<String> argv = new ArrayList<>(List.of("btrfs", "send", "-q"));
    parent.ifPresent(p -> {
      argv.add("-p");
      argv.add(p.toString());
    });
    argv.add(snapshot.toString());
    return Command.of(argv);
  }

  /** Receives a send stream from standard input as a new read-only subvolume inside {@code directory}. */
  static Command receive(Path directory) {
    return Command.of("btrfs", "receive", "-q", directory.toString());
  }
}
