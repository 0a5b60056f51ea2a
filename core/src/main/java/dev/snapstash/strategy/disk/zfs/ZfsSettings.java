package dev.snapstash.strategy.disk.zfs;

import dev.snapstash.core.config.Key;
import dev.snapstash.core.error.SnapstashException;
import java.util.Optional;
import java.util.regex.Pattern;

/** The settings of the {@code zfs} disk strategy: {@code disk.zfs}. */
public record ZfsSettings(
    @Key(
            doc =
                "The ZFS file system that holds the Bitbucket home, as `pool/path` (for example"
                    + " `tank/bitbucket-home`): the home is its mount point or a directory below it. Required with"
                    + " `disk.type: zfs`.",
            def = "")
        String dataset,
    @Key(
            doc =
                "The `zfs` command: a name looked up on PATH, or an absolute path (`/usr/sbin/zfs`). It runs as the"
                    + " user snapstash runs as, who needs the `snapshot`, `destroy` and `mount` permissions on the"
                    + " dataset (root, or `zfs allow`).",
            def = "zfs")
        String binary,
    @Key(
            doc =
                "What the names of this strategy's snapshots start with, before the backup's tag"
                    + " (`tank/bitbucket-home@snapstash-<tag>`). Only snapshots with this prefix and this instance's"
                    + " tags are ever destroyed, so snapshots made by other tools are left alone.",
            def = "snapstash-")
        String snapshotPrefix,
    @Key(
            doc =
                "Local snapshots kept on the pool after a good backup, newest first: a quick way back with `zfs"
                    + " rollback` or by copying single files out of `.zfs/snapshot`. 0 destroys each snapshot as"
                    + " soon as it is copied into the backup.",
            def = "1")
        int keepSnapshots) {

  static final String KEY = "disk.zfs";

  /**
   * A component of a dataset name: what OpenZFS accepts (letters, digits, {@code _ - : .}), less the space it
   * also allows, which no administrator wants to quote in every command. zfsconcepts(7), "Naming".
   */
  private static final Pattern COMPONENT = Pattern.compile("[A-Za-z0-9_.:-]+");

  /** A pool name starts with a letter (zpoolconcepts(7)). */
  private static final Pattern POOL = Pattern.compile("[A-Za-z][A-Za-z0-9_.:-]*");

  /**
   * OpenZFS's ZFS_MAX_DATASET_NAME_LEN is 256 with the terminating NUL, for the whole {@code dataset@snapshot};
   * the tag and the prefix take the rest.
   */
  static final int MAX_NAME = 255;

  /** Why {@code dataset} is not the name of a ZFS file system, as a phrase that follows it; empty if it is. */
  static Optional<String> datasetProblem(String dataset) {
    if (dataset == null || dataset.isBlank()) {
      return Optional.of("is empty: name the dataset that holds instance.home, as pool/path (zfs list -o name,mountpoint)");
    }
    if (dataset.contains("@")) {
      return Optional.of("names a snapshot, not a dataset: leave out the '@' and what follows it");
    }
    if (dataset.contains("#")) {
      return Optional.of("names a bookmark, not a dataset: leave out the '#' and what follows it");
    }
    if (dataset.startsWith("/")) {
      return Optional.of("is a path, not a dataset name: give the name zfs list shows (pool/path), not the mount point");
    }
    String[] parts = dataset.split("/", -1);
    if (parts.length < 2) {
      return Optional.of(
          "is a whole pool: give the home a file system of its own (zfs create " + dataset + "/bitbucket-home) and"
              + " name it as pool/path");
    }
    if (!POOL.matcher(parts[0]).matches()) {
      return Optional.of("does not start with a pool name (a letter, then letters, digits, '_', '-', ':' or '.')");
    }
    for (String part : parts) {
      if (!COMPONENT.matcher(part).matches()) {
        return Optional.of(
            part.isEmpty()
                ? "has an empty component (a doubled or trailing '/')"
                : "has a component '" + part + "' with characters other than letters, digits, '_', '-', ':' or '.'");
      }
    }
    if (dataset.length() > MAX_NAME - 60) {
      return Optional.of("is too long: its snapshots' names would pass ZFS's limit of " + MAX_NAME + " characters");
    }
    return Optional.empty();
  }

  /** Why {@code prefix} cannot start a snapshot name, as a phrase that follows it; empty if it can. */
  static Optional<String> prefixProblem(String prefix) {
    if (prefix == null || prefix.isEmpty()) {
      return Optional.of(
          "is empty: the prefix is how this strategy tells its own snapshots from other tools' (use snapstash-)");
    }
    if (!COMPONENT.matcher(prefix).matches() || prefix.length() > 40) {
      return Optional.of("must be 1 to 40 letters, digits, '_', '-', ':' or '.'");
    }
    return Optional.empty();
  }

  /** These settings, checked; throws CONFIG naming the first wrong key. */
  ZfsSettings validated() {
    datasetProblem(dataset).ifPresent(p -> {
      throw SnapstashException.config(KEY + ".dataset '" + (dataset == null ? "" : dataset) + "' " + p);
    });
    if (binary == null || binary.isBlank()) {
      throw SnapstashException.config(KEY + ".binary is empty: set it to zfs, or to the path of the zfs command");
    }
    prefixProblem(snapshotPrefix).ifPresent(p -> {
      throw SnapstashException.config(KEY + ".snapshot-prefix '" + (snapshotPrefix == null ? "" : snapshotPrefix) + "' " + p);
    });
    if (keepSnapshots < 0) {
      throw SnapstashException.config(KEY + ".keep-snapshots must not be negative, not " + keepSnapshots);
    }
    return this;
  }
}
