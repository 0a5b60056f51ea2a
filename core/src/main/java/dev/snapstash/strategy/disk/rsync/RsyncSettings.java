package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.config.Key;
import java.util.List;

/** The settings of the {@code rsync} disk strategy: {@code disk.rsync}. */
public record RsyncSettings(
    @Key(doc = "Extra exclude patterns (rsync syntax, relative to the home), added to the built-in ones.", def = "[]")
        List<String> excludes,
    @Key(doc = "Hard-link unchanged files against the previous complete backup (--link-dest).", def = "true")
        boolean linkDest,
    @Key(
            doc =
                "Where `backup.root` is on btrfs (and `link-dest` is on): make each backup's home a btrfs"
                    + " subvolume, a writable snapshot of the previous backup's, so that the pre-copy only"
                    + " compares and rewrites what changed instead of creating a hard link per file.",
            def = "true")
        boolean btrfsClones,
    @Key(doc = "Copy the home while the instance is live before locking, so the locked copy is a small delta.", def = "true")
        boolean preCopy,
    @Key(
            doc =
                "Watch the home with inotify from before the pre-copy, so the delta under the lock visits only"
                    + " the directories that changed instead of walking the whole home. Off by itself, with the"
                    + " reason logged, where it cannot be trusted: a network or cluster filesystem, too few"
                    + " `fs.inotify.max_user_watches`, an event queue overflow.",
            def = "true")
        boolean trackChanges,
    @Key(
            doc =
                "rsync commands the pre-copy runs at once, each over its share of the repositories, with one"
                    + " more for the rest of the home; 1 copies with a single rsync. rsync spends most of its"
                    + " time waiting on metadata calls, so a few at once help even on two cores.",
            def = "3")
        int parallel) {}

