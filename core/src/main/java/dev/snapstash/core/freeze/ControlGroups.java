package dev.snapstash.core.freeze;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the freeze watchdog must live so that killing the backup's control group does not kill it too. A service
 * manager stops a unit by killing every process in its cgroup (systemd's {@code KillMode=control-group}; {@code
 * cgroup.kill} on cgroup v2): a watchdog left in the backup's cgroup dies with the backup, and the mount stays
 * frozen. It is moved into a {@value #NAME} cgroup at the top of each process-tracking hierarchy in which the
 * backup is not at the top already.
 *
 * <p>Only the hierarchies a service manager kills by are concerned: the cgroup v2 hierarchy and the v1 {@code
 * name=systemd} one. The v1 resource controllers (memory, cpu, pids…) kill nobody, and leaving the watchdog in
 * the backup's resource groups keeps it under the limits an administrator set there.
 *
 * <p>Pure: parses the text of {@code /proc/self/cgroup} and {@code /proc/self/mountinfo}.
 */
public final class ControlGroups {
  /** The watchdog's own cgroup, shared by every watchdog of this machine; empty when none runs. */
  public static final String NAME = "snapstash-watchdog";

  private ControlGroups() {}

  /**
   * The directories of the watchdog cgroups to join, one per process-tracking hierarchy where the process whose
   * {@code /proc/<pid>/cgroup} is {@code procCgroup} is not at the top of what {@code mountinfo} shows.
   */
  public static List<Path> watchdogGroups(String procCgroup, String mountinfo) {
    // hierarchy key ("0" for v2, "name=systemd" for the named v1 one) -> the process's path in it
    Map<String, String> member = new LinkedHashMap<>();
    for (String line : procCgroup.split("\n")) {
      String[] f = line.strip().split(":", 3);
      if (f.length < 3) {
        continue;
      }
      if (f[0].equals("0") && f[1].isEmpty()) {
        member.put("0", f[2]);
      } else if (f[1].equals("name=systemd")) {
        member.put("name=systemd", f[2]);
      }
    }
    List<Path> out = new ArrayList<>();
    for (String line : mountinfo.split("\n")) {
      Mount m = Mount.parse(line);
      if (m == null) {
        continue;
      }
      String key =
          m.type().equals("cgroup2") ? "0" : m.type().equals("cgroup") && m.options().contains("name=systemd") ? "name=systemd" : null;
      if (key == null || !member.containsKey(key)) {
        continue;
      }
      String path = member.get(key);
      String root = m.root();
      boolean inside = root.equals("/") || path.equals(root) || path.startsWith(root + "/");
      if (!inside || path.equals(root) || path.equals("/")) {
        // at the top of what this mount shows (nothing to escape to), or not under it at all
        continue;
      }
      Path dir = Path.of(m.mountPoint()).resolve(NAME);
      if (!out.contains(dir)) {
        out.add(dir);
      }
      member.remove(key); // a hierarchy mounted twice is joined once
    }
    return List.copyOf(out);
  }

  /** One line of mountinfo: {@code id parent major:minor root mountpoint options [optional...] - type source superoptions}. */
  private record Mount(String root, String mountPoint, String type, List<String> options) {
    static Mount parse(String line) {
      String[] halves = line.strip().split(" - ", 2);
      if (halves.length < 2) {
        return null;
      }
      String[] a = halves[0].split(" ");
      String[] b = halves[1].split(" ");
      if (a.length < 5 || b.length < 3) {
        return null;
      }
      return new Mount(unescape(a[3]), unescape(a[4]), b[0], List.of(b[2].split(",")));
    }
  }

  /** mountinfo writes space, tab, newline and backslash as three octal digits after a backslash. */
  static String unescape(String s) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
