package dev.snapstash.strategy.disk;

import dev.snapstash.core.process.Command;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Pure builders of the rsync command lines, so the exact arguments are table-tested. */
public final class RsyncCommands {
  /**
   * What is never backed up, from the Bitbucket home-directory facts: caches, logs, temporary files, lock files,
   * exports, bundled search data and unpacked plugin caches. Anchored at the home's root with a leading '/'.
   */
  public static final List<String> DISPOSABLE =
      List.of(
          "/caches/",
          "/log/",
          "/tmp/",
          "/.lock",
          "/shared/.lock",
          "/export/",
          "/shared/export/",
          "/search/data/",
          "/shared/search/data/",
          "/plugins/.*/",
          "/shared/plugins/.*/",
          // Git's push quarantine: objects of a push still being received, moved into place when it is accepted
          // (and garbage if a crash left them). Never part of a consistent copy.
          "objects/incoming-*/");

  /** Embedded H2 files, excluded when a database strategy copies the database itself. */
  public static final List<String> EMBEDDED_DATABASE = List.of("/data/db.*", "/shared/data/db.*");

  /** rsync's "some files vanished before they could be transferred": normal while the instance is live. */
  public static final int VANISHED = 24;

  /**
   * rsync's "partial transfer": while live, a directory removed during the walk. Tolerated only in the live
   * pre-copy, since the pass under the lock copies the whole tree again and fails on it.
   */
  public static final int PARTIAL = 23;

  private RsyncCommands() {}

  /**
   * Copies {@code source} into {@code target} so that target mirrors it: archive mode with hard links, ACLs and
   * extended attributes, numeric ids (a restore on another host must not remap owners by name), deletions, and
   * unchanged files hard-linked against {@code linkDest}.
   */
  public static Command copy(Path source, Path target, Optional<Path> linkDest, List<String> excludes) {
    return Command.of(copyArguments(source, target, linkDest, excludes, List.of()));
  }

  /**
   * The delta under the lock when the changes were tracked: only the directories named in {@code list} (a file of
   * NUL-separated paths relative to {@code source}, written by {@link #listEntries}), with the same archive
   * options as {@link #copy}. Not {@code recursive}: each directory's immediate entries are compared and extra ones
   * deleted ({@code -d}). Recursive: each directory is copied whole ({@code -r}), for directories that appeared.
   * rsync's {@code -H} only sees hard links among the files of one command, so a file linked to one outside the
   * list is copied as a separate file: the same bytes, one more inode.
   */
  public static Command copyListed(Path source, Path target, Path list, boolean recursive, List<String> excludes) {
    return Command.of(copyArguments(source, target, Optional.empty(), excludes, listed(list, recursive)));
  }

  private static List<String> copyArguments(
      Path source, Path target, Optional<Path> linkDest, List<String> excludes, List<String> selection) {
    List<String> argv = new ArrayList<>();
    argv.add("rsync");
    argv.add("-aHAX");
    argv.addAll(selection);
    argv.add("--numeric-ids");
    argv.add("--delete");
    // Compare modification times to the nanosecond: with whole seconds, a file rewritten in place (same size)
    // in the second the pre-copy read it looks unchanged to the delta under the lock.
    argv.add("--modify-window=-1");
    argv.add("--info=progress2");
    argv.add("--no-inc-recursive");
    argv.add("--stats");
    linkDest.ifPresent(p -> argv.add("--link-dest=" + p.toAbsolutePath()));
    for (String e : excludes) {
      argv.add("--exclude=" + e);
    }
    argv.add(slash(source));
    argv.add(slash(target));
    return argv;
  }

  /**
   * Copies the files named in {@code list} (NUL-separated paths of regular files, relative to {@code source}; see
   * {@link #listFiles}) afresh, whatever the target holds under their names: for files whose copy in the previous
   * backup is damaged, which the target has hard-linked (or kept from a snapshot) because their size and time still
   * match. {@code --ignore-times} makes rsync write each one, into a new file renamed into place, so a hard-linked
   * previous copy is never written to; a file the source no longer has is skipped.
   */
  public static Command copyAfresh(Path source, Path target, Path list, List<String> excludes) {
    List<String> argv = new ArrayList<>();
    argv.add("rsync");
    argv.add("-aHAX");
    argv.add("--from0");
    argv.add("--files-from=" + list.toAbsolutePath());
    argv.add("--ignore-missing-args");
    argv.add("--ignore-times");
    argv.add("--numeric-ids");
    argv.add("--stats");
    for (String e : excludes) {
      argv.add("--exclude=" + e);
    }
    argv.add(slash(source));
    argv.add(slash(target));
    return Command.of(argv);
  }

  /** The {@code --files-from} entries for files relative to the source. */
  public static String listFiles(Collection<String> files) {
    StringBuilder sb = new StringBuilder();
    for (String f : files) {
      sb.append(f).append('\0');
    }
    return sb.toString();
  }

  /**
   * One share of a parallel pre-copy: the repositories named in {@code list} (NUL-separated, relative to
   * {@code source}), each copied whole and hard-linked against {@code linkDest} like {@link #copy}.
   */
  public static Command copyRepositories(
      Path source, Path target, Optional<Path> linkDest, Path list, List<String> excludes) {
    return Command.of(copyArguments(source, target, linkDest, excludes, listed(list, true)));
  }

  /**
   * The rest of a parallel pre-copy: everything but the repositories under {@code repositories} (relative to the
   * source), which {@link #copyRepositories} commands copy beside it.
   */
  public static Command copyAllButRepositories(
      Path source, Path target, Optional<Path> linkDest, String repositories, List<String> excludes) {
    List<String> all = new ArrayList<>(excludes);
    all.add("/" + repositories + "/*/");
    return Command.of(copyArguments(source, target, linkDest, all, List.of()));
  }

  /**
   * With {@code --files-from}, {@code -a} no longer recurses: {@code -r} or {@code -d} says how far to go. A listed
   * directory removed since it was listed is skipped, not an error: its parent's change is in the list too, and
   * after an error rsync would skip every deletion of the run.
   */
  private static List<String> listed(Path list, boolean recursive) {
    return List.of(recursive ? "-r" : "-d", "--from0", "--files-from=" + list.toAbsolutePath(), "--ignore-missing-args");
  }

  /**
   * The {@code --files-from} entries for directories relative to the source ("" is the source itself): for
   * {@code -d}, {@code dir/.} makes rsync compare the directory's contents and not only the directory itself.
   */
  public static String listEntries(Collection<String> directories, boolean recursive) {
    StringBuilder sb = new StringBuilder();
    for (String d : directories) {
      String entry = d.isEmpty() ? "." : recursive ? d : d + "/.";
      sb.append(entry).append('\0');
    }
    return sb.toString();
  }

  /**
   * The second pass under the lock: the repositories' mutable metadata (loose refs, packed-refs, HEAD, config,
   * reflogs), compared by content rather than by size and time. A Git ref file is always 41 bytes and can change
   * twice within one timestamp tick, so the quick check alone can keep a stale ref beside the new commit. Object
   * directories, immutable by name, are pruned so this pass reads only a few small files per repository.
   */
  public static Command repositoryMetadata(Path source, Path target, List<String> excludes) {
    return Command.of(metadataArguments(source, target, excludes, List.of()));
  }

  /** {@link #repositoryMetadata} restricted to the directories in {@code list}, as {@link #copyListed}. */
  public static Command repositoryMetadataListed(
      Path source, Path target, Path list, boolean recursive, List<String> excludes) {
    return Command.of(metadataArguments(source, target, excludes, listed(list, recursive)));
  }

  private static List<String> metadataArguments(Path source, Path target, List<String> excludes, List<String> selection) {
    List<String> argv = new ArrayList<>();
    argv.add("rsync");
    argv.add("-aHAX");
    argv.addAll(selection);
    argv.add("--numeric-ids");
    argv.add("--checksum");
    argv.add("--stats");
    argv.add("--exclude=objects/");
    for (String e : excludes) {
      argv.add("--exclude=" + e);
    }
    argv.add("--include=*/");
    argv.add("--include=/shared/data/repositories/**");
    argv.add("--include=/data/repositories/**");
    argv.add("--exclude=*");
    argv.add(slash(source));
    argv.add(slash(target));
    return argv;
  }

  /**
   * Whether a directory (relative to the home) can hold what {@link #repositoryMetadata} compares: inside the
   * repositories, outside their object stores.
   */
  public static boolean holdsRepositoryMetadata(String directory) {
    boolean inRepositories =
        (directory + "/").startsWith("shared/data/repositories/") || (directory + "/").startsWith("data/repositories/");
    return inRepositories && !("/" + directory + "/").contains("/objects/");
  }

  /** Whether a whole subtree (relative to the home) can hold repository metadata: inside or above repositories. */
  public static boolean mayHoldRepositoryMetadata(String subtree) {
    return holdsRepositoryMetadata(subtree)
        || "shared/data/repositories".startsWith(subtree + "/")
        || "data/repositories".startsWith(subtree + "/");
  }

  /**
   * Directories (relative to the home) that an exclude pattern removes whole and that are safe to recognise
   * without rsync's matcher: directory-only patterns ({@code /caches/}, {@code objects/incoming-*}{@code /}) with at
   * most {@code *} inside a name. Anchored ones match from the home; others, as rsync matches them, at any depth.
   * Anything else is simply not recognised, which only costs watching a directory that is never copied.
   */
  public static Predicate<String> excludedDirectories(List<String> excludes) {
    List<Pattern> patterns = new ArrayList<>();
    for (String e : excludes) {
      if (e.length() > 1 && e.endsWith("/") && !e.equals("/") && !e.contains("**") && !e.contains("?")
          && !e.contains("[") && !e.contains("\\")) {
        boolean anchored = e.startsWith("/");
        String body = e.substring(anchored ? 1 : 0, e.length() - 1);
        String regex = Arrays.stream(body.split("\\*", -1)).map(Pattern::quote).collect(Collectors.joining("[^/]*"));
        patterns.add(Pattern.compile(anchored ? regex : "(?:.*/)?" + regex));
      }
    }
    return dir -> patterns.stream().anyMatch(p -> p.matcher(dir).matches());
  }

  /**
   * Restores a backed-up home into {@code target}; with {@code replace}, files not in the backup are deleted.
   * Every file is written again ({@code --ignore-times}): the target is an older home, where a ref rewritten within
   * the same second keeps its size and time, and two names linked there may be two files in the backup; rsync's
   * quick check would keep both as they are.
   */
  public static Command restore(Path backupHome, Path target, boolean replace) {
    List<String> argv = new ArrayList<>();
    argv.add("rsync");
    argv.add("-aHAX");
    argv.add("--ignore-times");
    argv.add("--numeric-ids");
    argv.add("--info=progress2");
    argv.add("--no-inc-recursive");
    argv.add("--stats");
    if (replace) {
      argv.add("--delete");
    }
    argv.add(slash(backupHome));
    argv.add(slash(target));
    return Command.of(argv);
  }

  /**
   * Restores a backed-up home into an empty {@code target} with {@code cp -a}: the same result as {@link #restore}
   * (ownership by number, permissions, times, hard links within the tree, ACLs and extended attributes) without
   * rsync's per-file comparison, which into an empty directory has nothing to compare with and costs up to several
   * times the copy itself on a home of many small files (docs/performance.md, "Restore"). {@code --reflink=auto}
   * shares blocks copy-on-write where the filesystem can (btrfs, XFS), so a writer of either copy never changes
   * the other; elsewhere it copies. {@code -T} copies the contents of the backup into the existing target.
   */
  public static Command restoreIntoEmpty(Path backupHome, Path target) {
    return Command.of(
        "cp", "-a", "--reflink=auto", "-T", backupHome.toAbsolutePath().toString(), target.toAbsolutePath().toString());
  }

  public static Command version() {
    return Command.of("rsync", "--version").capturingStdout();
  }

  /** A trailing slash makes rsync copy the directory's contents rather than the directory itself. */
  private static String slash(Path p) {
    String s = p.toAbsolutePath().toString();
    return s.endsWith("/") ? s : s + "/";
  }
}
