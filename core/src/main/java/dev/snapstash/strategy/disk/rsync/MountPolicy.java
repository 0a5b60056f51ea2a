package dev.snapstash.strategy.disk.rsync;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which homes the change tracker can trust, from the mount table: inotify sees only the changes made through this
 * host's kernel, so the home and every mount inside it must be a local filesystem. Also the kernel's limit on
 * watches, which caps the directories a tracked home may have.
 */
final class MountPolicy {
  private MountPolicy() {}

  /** Local filesystems whose every change is made on this host, through this kernel, and so raises an event. */
  static final Set<String> LOCAL_FILESYSTEMS =
      Set.of("ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "zfs", "f2fs", "bcachefs", "reiserfs", "jfs", "overlay");

  /** The kernel's limit on watches per user, which caps the directories a home may have to be tracked. */
  static Optional<Long> watchLimit() {
    try {
      // Line by line: Files.readString reads only "1" of "192536" from this sysctl file (a size-0 proc file).
      List<String> lines = Files.readAllLines(Path.of("/proc/sys/fs/inotify/max_user_watches"));
      return lines.isEmpty() ? Optional.empty() : Optional.of(Long.parseLong(lines.get(0).strip()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Why the home cannot be tracked from this host, from /proc/self/mountinfo; empty if it can. */
  static Optional<String> untrustedMount(Path home) {
    try {
      return untrustedMount(String.join("\n", Files.readAllLines(Path.of("/proc/self/mountinfo"))), home.toRealPath());
    } catch (IOException e) {
      return Optional.of("cannot read the mount table (" + e.getMessage() + ")");
    }
  }

  /**
   * The mount holding {@code home} and every mount inside it must be a local filesystem: on a network or cluster
   * filesystem another host's writes raise no inotify event here (a Bitbucket Data Center shared home on NFS).
   */
  static Optional<String> untrustedMount(String mountinfo, Path home) {
    String homePath = home.toString();
    String containing = null;
    String containingType = null;
    for (String line : mountinfo.split("\n")) {
      // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
      String[] f = line.split(" ");
      int dash = List.of(f).indexOf("-");
      if (f.length < 5 || dash < 0 || dash + 1 >= f.length) {
        continue;
      }
      String mountPoint = unescape(f[4]);
      String type = f[dash + 1];
      if (isUnder(homePath, mountPoint)) {
        if (containing == null || mountPoint.length() >= containing.length()) {
          containing = mountPoint;
          containingType = type;
        }
      } else if (isUnder(mountPoint, homePath) && !LOCAL_FILESYSTEMS.contains(type)) {
        return Optional.of(mountPoint + " inside the home is " + type + ", where inotify does not see every change");
      }
    }
    if (containingType == null) {
      return Optional.of("no mount holds " + homePath);
    }
    if (!LOCAL_FILESYSTEMS.contains(containingType)) {
      return Optional.of("the home is on " + containingType + ", where inotify does not see every change");
    }
    return Optional.empty();
  }

  private static boolean isUnder(String path, String dir) {
    return path.equals(dir) || dir.equals("/") || path.startsWith(dir + "/");
  }

  private static final Pattern OCTAL = Pattern.compile("\\\\([0-7]{3})");

  private static String unescape(String s) {
    return OCTAL.matcher(s).replaceAll(m -> String.valueOf((char) Integer.parseInt(m.group(1), 8)));
  }
}
