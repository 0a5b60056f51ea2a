package dev.snapstash.strategy.archive.restic;

import dev.snapstash.core.process.Command;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The restic command lines, as data. The repository and the password file go into the environment, never the
 * argv (a {@code rest:https://user:pass@host/} repository would otherwise show in {@code ps}); the variables that
 * would make restic read another password or repository are blanked, so the user's own shell settings cannot
 * redirect a run.
 */
final class ResticCommands {
  /** The tag every snapshot snapstash makes carries; only snapshots with it are ever listed or forgotten. */
  static final String TAG = "snapstash";

  private ResticCommands() {}

  /** Where restic runs against: the binary, the repository, restic's cache ({@code null}: its default). */
  record Target(String binary, String repository, Path cacheDir) {}

  static Command base(Target t, Path passwordFile, List<String> args) {
    List<String> argv = new ArrayList<>();
    argv.add(t.binary());
    argv.addAll(args);
    if (t.cacheDir() != null) {
      argv.add("--cache-dir");
      argv.add(t.cacheDir().toString());
    }
    return Command.of(argv)
        .withEnv("RESTIC_REPOSITORY", t.repository())
        .withEnv("RESTIC_REPOSITORY_FILE", "")
        .withEnv("RESTIC_PASSWORD_FILE", passwordFile.toString())
        .withEnv("RESTIC_PASSWORD", "")
        .withEnv("RESTIC_PASSWORD_COMMAND", "");
  }

  /**
   * {@code restic backup --json} of two relative paths from {@code workDir}: the index directory (named so it sorts
   * first in the snapshot's root, which is what lets a reader meet the index before the files) and the backup
   * directory, given by its absolute path so the snapshot says where it came from.
   */
  static Command backup(Target t, Path passwordFile, Path workDir, String indexName, Path backupDir, String tag, String host, List<String> extraTags) {
    List<String> args = new ArrayList<>(List.of("backup", "--json", "--tag", TAG, "--tag", tag));
    for (String extra : extraTags) {
      args.add("--tag");
      args.add(extra);
    }
    args.add("--host");
    args.add(host);
    args.add(indexName);
    args.add(backupDir.toAbsolutePath().toString());
    return base(t, passwordFile, args).inDirectory(workDir);
  }

  /** {@code restic snapshots --json} of snapstash's snapshots (of one backup tag, when {@code tag} is not null). */
  static Command snapshots(Target t, Path passwordFile, String host, String tag) {
    List<String> args = new ArrayList<>(List.of("snapshots", "--json", "--tag", tag == null ? TAG : TAG + "," + tag));
    if (host != null) {
      args.add("--host");
      args.add(host);
    }
    return base(t, passwordFile, args).capturingStdout();
  }

  /** {@code restic forget --prune ID…}: the snapshots, then the data no other snapshot uses. */
  static Command forget(Target t, Path passwordFile, List<String> ids, boolean prune) {
    List<String> args = new ArrayList<>(List.of("forget"));
    if (prune) {
      args.add("--prune");
    }
    args.addAll(ids);
    return base(t, passwordFile, args);
  }

  static Command prune(Target t, Path passwordFile) {
    return base(t, passwordFile, List.of("prune"));
  }

  /** Removes the locks of restic processes that are gone (a killed backup's); a live process's lock stays. */
  static Command unlock(Target t, Path passwordFile) {
    return base(t, passwordFile, List.of("unlock"));
  }

  static Command init(Target t, Path passwordFile) {
    return base(t, passwordFile, List.of("init"));
  }

  /** Reads the repository's config: exists, and the password opens it. Changes nothing. */
  static Command catConfig(Target t, Path passwordFile) {
    return base(t, passwordFile, List.of("cat", "config")).discardingStdout();
  }

  /** The whole snapshot as a tar stream on standard output. */
  static Command dump(Target t, Path passwordFile, String snapshotId) {
    return base(t, passwordFile, List.of("dump", snapshotId, "/"));
  }
}
