package dev.snapstash.core.freeze;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.engine.Journal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watchdog's pure parts: where it runs, what it runs, which cgroups it joins, how it is journaled. */
class WatchdogsTest {
  @TempDir Path root;

  /** This test machine's own mounts: v1 controllers, a named systemd hierarchy and a v2 one beside them. */
  static final String HYBRID_MOUNTS =
      String.join(
          "\n",
          "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
          "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
          "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer",
          "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
          "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");

  @Test
  void aJvmInAServiceCgroupJoinsTheWatchdogGroupOfEachKillingHierarchyOnly() {
    String cgroup =
        String.join(
            "\n",
            "9:name=systemd:/system.slice/bitbucket-backup.service",
            "6:freezer:/",
            "4:memory:/system.slice/bitbucket-backup.service",
            "0::/system.slice/bitbucket-backup.service");
    assertThat(ControlGroups.watchdogGroups(cgroup, HYBRID_MOUNTS))
        .as("memory kills nobody, and its limits should still hold the watchdog")
        .containsExactly(Path.of("/sys/fs/cgroup/systemd/snapstash-watchdog"), Path.of("/sys/fs/cgroup/unified/snapstash-watchdog"));
  }

  @Test
  void aJvmAtTheTopOfEveryHierarchyJoinsNothing() {
    String cgroup = "9:name=systemd:/\n4:memory:/process_api/b067\n0::/\n";
    assertThat(ControlGroups.watchdogGroups(cgroup, HYBRID_MOUNTS)).isEmpty();
  }

  @Test
  void aPureV2HostAndAMountOfASubtree() {
    String mounts = "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate";
    assertThat(ControlGroups.watchdogGroups("0::/system.slice/x.service", mounts))
        .containsExactly(Path.of("/sys/fs/cgroup/snapstash-watchdog"));
    // a container seeing only its own subtree: at the top of it, there is nowhere to go
    String sub = "25 20 0:22 /machine.slice/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw";
    assertThat(ControlGroups.watchdogGroups("0::/machine.slice/c1", sub)).isEmpty();
    assertThat(ControlGroups.watchdogGroups("0::/machine.slice/c1/app", sub))
        .containsExactly(Path.of("/sys/fs/cgroup/snapstash-watchdog"));
  }

  @Test
  void mountinfoEscapesAreDecoded() {
    assertThat(ControlGroups.unescape("/mnt/with\\040space")).isEqualTo("/mnt/with space");
  }

  @Test
  void theStartTimeIsField22CountedFromTheLastParenthesis() {
    String stat = "4242 (sh) x (y) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 2543616 200 184467";
    assertThat(ProcessStart.parse(stat)).hasValue(987654);
    assertThat(ProcessStart.parse("garbage")).isEmpty();
    assertThat(ProcessStart.parse(stat.replace(") S ", ") Z "))).as("a zombie runs no more").isEmpty();
    assertThat(ProcessStart.of(ProcessHandle.current().pid())).isPresent();
  }

  @Test
  void systemdOnlyWhereItIsPid1AndBooted() {
    assertThat(Watchdogs.detectHost("systemd\n", true, true)).isEqualTo(Watchdogs.Host.SYSTEMD);
    assertThat(Watchdogs.detectHost("systemd\n", false, true)).as("PID 1 named systemd, not booted by it").isEqualTo(Watchdogs.Host.DAEMON);
    assertThat(Watchdogs.detectHost("init\n", true, true)).isEqualTo(Watchdogs.Host.DAEMON);
    assertThat(Watchdogs.detectHost("systemd\n", true, false)).as("no systemd-run").isEqualTo(Watchdogs.Host.DAEMON);
  }

  @Test
  void theTimerFiresAtTheLimitToATenthOfASecondOutsideTheService() {
    assertThat(
            Watchdogs.systemdTimer("snapstash-thaw-12-1", Path.of("/media/atl"), Duration.ofMillis(6500), Path.of("/usr/sbin/fsfreeze")).argv())
        .containsExactly(
            "systemd-run", "--quiet", "--collect", "--unit=snapstash-thaw-12-1",
            "--description=snapstash freeze watchdog: thaws /media/atl if the backup that froze it dies",
            "--on-active=6500ms", "--timer-property=AccuracySec=100ms", "/usr/sbin/fsfreeze", "-u", "/media/atl");
    assertThat(Watchdogs.stopTimer("snapstash-thaw-12-1").argv()).containsExactly("systemctl", "stop", "snapstash-thaw-12-1.timer");
    assertThat(Watchdogs.unitName(12, 1)).isEqualTo("snapstash-thaw-12-1");
  }

  @Test
  void theDaemonTakesTheMountAndGroupsAsArgumentsNeverAsScript() {
    var c = Watchdogs.daemon(Path.of("/mnt/$(rm -rf x)"), Duration.ofMillis(2500), List.of(Path.of("/sys/fs/cgroup/unified/snapstash-watchdog")));
    assertThat(c.argv().subList(0, 3)).containsExactly("sh", "-c", Watchdogs.LAUNCH_SCRIPT);
    assertThat(c.argv().get(3)).isEqualTo(Watchdogs.DAEMON_SCRIPT).doesNotContain("/mnt");
    assertThat(c.argv().subList(4, 7)).containsExactly("/mnt/$(rm -rf x)", "2.500", "/sys/fs/cgroup/unified/snapstash-watchdog");
    assertThat(Watchdogs.ready("4242 ready\n")).isEqualTo(4242);
    assertThat(Watchdogs.ready("")).isEqualTo(-1);
    assertThat(Watchdogs.ready("sh: 1: cannot create x: Permission denied\n")).isEqualTo(-1);
  }

  /** recover runs long after the journal was written: a pid whose start time differs is someone else now. */
  @Test
  void aReusedPidIsNeverKilled() throws Exception {
    Process stranger = new ProcessBuilder("sleep", "30").start();
    try {
      long ticks = ProcessStart.of(stranger.pid()).orElseThrow();
      var runner = new dev.snapstash.core.process.ProcessRunner();
      StopWatchdog.process(Path.of("/mnt/x"), stranger.pid(), ticks + 1, List.of()).stop(runner);
      assertThat(stranger.isAlive()).as("another process with the journaled pid").isTrue();
      StopWatchdog.process(Path.of("/mnt/x"), stranger.pid(), ticks, List.of()).stop(runner);
      assertThat(stranger.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)).as("the watchdog itself").isTrue();
    } finally {
      stranger.destroyForcibly();
    }
  }

  @Test
  void bothWatchdogKindsRoundTripThroughTheJournal() {
    var process = StopWatchdog.process(Path.of("/media/atl"), 4242, 987654, List.of(Path.of("/sys/fs/cgroup/unified/snapstash-watchdog")));
    var timer = StopWatchdog.timer(Path.of("/media/atl"), "snapstash-thaw-12-1");
    try (Journal j = Journal.begin(root, "backup", "t")) {
      j.add(new Thaw(Path.of("/media/atl")));
      j.add(process);
      j.add(timer);
      j.done(timer);
    }
    assertThat(Journal.pending(Journal.read(root))).containsExactly(new Thaw(Path.of("/media/atl")), process);
    assertThat(process.describe()).isEqualTo("stop the freeze watchdog of /media/atl (pid 4242)");
  }
}
