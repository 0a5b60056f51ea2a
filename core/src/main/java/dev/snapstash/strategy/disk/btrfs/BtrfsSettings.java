package dev.snapstash.strategy.disk.btrfs;

import dev.snapstash.core.config.Key;

/** The settings of the {@code btrfs} disk strategy: {@code disk.btrfs}. */
public record BtrfsSettings(
    @Key(
            doc =
                "Where the read-only snapshots are made: a directory on the same btrfs filesystem as the home,"
                    + " outside it. Empty means `.snapstash-snapshots` next to the home.",
            def = "")
        String snapshotDirectory,
    @Key(
            doc =
                "How a snapshot is copied into the backup after the unlock: `send` (btrfs send/receive,"
                    + " incremental against the previous snapshot; the backup root must be on btrfs), `rsync`"
                    + " (from the read-only snapshot to any filesystem, hard-linked against the previous backup),"
                    + " or `auto` (send when the backup root is on btrfs).",
            def = "auto")
        String transfer,
    @Key(
            doc =
                "Local snapshots kept on the home's filesystem after a good backup, newest first; at least 1,"
                    + " because the newest is the parent of the next incremental send.",
            def = "1")
        int keepSnapshots) {}

