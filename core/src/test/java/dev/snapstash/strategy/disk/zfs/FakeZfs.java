package dev.snapstash.strategy.disk.zfs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;

/**
 * A stand-in for {@code zfs(8)} on plain directories, since this machine's kernel has no ZFS: a shell script that
 * records every call (its exact argv, one line each, arguments separated by tabs) and emulates the few subcommands
 * the strategy uses, with zfs's own error messages where the strategy reads them. A dataset is a directory (its
 * mount point); a snapshot is a {@code cp -a} of it in {@code <mountpoint>/.zfs/snapshot/<name>}, where ZFS shows
 * snapshots. Unlike ZFS's, that {@code .zfs} is an ordinary directory that listings see, so tests put the home below
 * the mount point unless they exclude it when comparing trees.
 *
 * <p>Every file it writes is made when it is created, so that a test comparing what a run left sees no new file.
 */
final class FakeZfs {
  private static final String SCRIPT =
      """
      #!/bin/bash
      state="$(dirname "$0")"
      (IFS=$'\\t'; printf '%s\\n' "$*") >> "$state/calls.log"
      mp_of() { awk -F'\\t' -v n="$1" '$1 == n { print $2 }' "$state/datasets"; }
      missing() { echo "cannot open '$1': dataset does not exist" >&2; exit 1; }
      cmd="$1"; shift
      case "$cmd" in
        version)
          echo "zfs-2.2.2-fake"; echo "zfs-kmod-2.2.2-fake" ;;
        get)
          ds="${@: -1}"; mp="$(mp_of "$ds")"; [ -n "$mp" ] || missing "$ds"
          mounted=yes; [ -e "$state/unmounted" ] && mounted=no
          if [ "$4" = "property,value" ]; then
            printf 'type\\tfilesystem\\nmountpoint\\t%s\\nmounted\\t%s\\n' "$mp" "$mounted"
          else
            echo "$mp"
          fi ;;
        list)
          target="${@: -1}"
          case "$*" in
            *"-t snapshot -o name,creation"*)
              mp="$(mp_of "$target")"; [ -n "$mp" ] || missing "$target"
              for d in "$mp"/.zfs/snapshot/*/; do
                [ -d "$d" ] || continue
                printf '%s@%s\\t%s\\n' "$target" "$(basename "$d")" "$(stat -c %Y "$d")"
              done ;;
            *"-t snapshot"*)
              mp="$(mp_of "${target%@*}")"
              { [ -n "$mp" ] && [ -d "$mp/.zfs/snapshot/${target#*@}" ]; } || missing "$target"
              echo "$target" ;;
            *"-t filesystem"*)
              [ -n "$(mp_of "$target")" ] || missing "$target"
              awk -F'\\t' -v n="$target" '$1 == n || index($1, n "/") == 1' "$state/datasets" ;;
            *) echo "the fake zfs does not list $*" >&2; exit 2 ;;
          esac ;;
        snapshot)
          target="$1"; mp="$(mp_of "${target%@*}")"; [ -n "$mp" ] || missing "${target%@*}"
          if [ -e "$state/fail-snapshot" ]; then
            echo "cannot create snapshot '$target': out of space" >&2; exit 1
          fi
          dir="$mp/.zfs/snapshot/${target#*@}"
          if [ -e "$dir" ]; then echo "cannot create snapshot '$target': dataset already exists" >&2; exit 1; fi
          mkdir -p "$dir" && chmod --reference="$mp" "$dir"
          find "$mp" -mindepth 1 -maxdepth 1 ! -name .zfs -exec cp -a -t "$dir" {} + ;;
        destroy)
          for a in "$@"; do
            case "$a" in -*) echo "the fake zfs refuses to destroy with $a" >&2; exit 2 ;; esac
          done
          target="$1"
          case "$target" in *@*) ;; *) echo "the fake zfs refuses to destroy the file system $target" >&2; exit 2 ;; esac
          mp="$(mp_of "${target%@*}")"
          if [ -z "$mp" ] || [ ! -d "$mp/.zfs/snapshot/${target#*@}" ]; then
            echo "could not find any snapshots to destroy; check snapshot names." >&2; exit 1
          fi
          rm -rf "$mp/.zfs/snapshot/${target#*@}" ;;
        *)
          echo "the fake zfs does not know '$cmd'" >&2; exit 2 ;;
      esac
      """;

  private final Path dir;

  private FakeZfs(Path dir) {
    this.dir = dir;
  }

  /** A fake {@code zfs} in {@code dir}, which it owns, with no datasets. */
  static FakeZfs in(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path script = dir.resolve("zfs");
    Files.writeString(script, SCRIPT);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(dir.resolve("calls.log"), "");
    Files.writeString(dir.resolve("datasets"), "");
    return new FakeZfs(dir);
  }

  Path binary() {
    return dir.resolve("zfs");
  }

  /** A file system mounted at {@code mountpoint} (tab-separated, as {@code zfs list -H} prints it). */
  FakeZfs dataset(String name, Path mountpoint) throws IOException {
    Files.writeString(dir.resolve("datasets"), name + "\t" + mountpoint + "\n", StandardOpenOption.APPEND);
    return this;
  }

  /** Makes every {@code zfs snapshot} fail as a full pool does. */
  void failSnapshots() throws IOException {
    Files.writeString(dir.resolve("fail-snapshot"), "");
  }

  /** Makes {@code zfs get mounted} answer {@code no}. */
  void unmount() throws IOException {
    Files.writeString(dir.resolve("unmounted"), "");
  }

  /** Every call so far, each as its argv without the program. */
  List<List<String>> calls() throws IOException {
    return Files.readAllLines(dir.resolve("calls.log")).stream().map(l -> Arrays.asList(l.split("\t", -1))).toList();
  }

  /** Every call so far, each as one line with spaces between arguments, for readable assertions. */
  List<String> callLines() throws IOException {
    return calls().stream().map(c -> String.join(" ", c)).toList();
  }

  void forgetCalls() throws IOException {
    Files.writeString(dir.resolve("calls.log"), "");
  }
}
