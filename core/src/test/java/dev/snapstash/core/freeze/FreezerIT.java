package dev.snapstash.core.freeze;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.testing.LoopFilesystem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fsfreeze on a real filesystem (btrfs on a loop device, as the snapshotting strategies have it), frozen by a
 * child JVM through the real {@link Freezer} and held at the {@code while-frozen} fault point, then killed the ways
 * a backup dies. Never leaves the mount frozen, a watchdog or a cgroup behind, even when the test fails.
 */
class FreezerIT {
  /** Short, to keep the test quick; long enough for a JVM under load to get from the freeze to the kill. */
  static final long LIMIT_MILLIS = 6_000;
  /** How late after the limit the thaw may show: the watchdog's sleep and fsfreeze on a shared CPU. */
  static final long SLACK_MILLIS = 5_000;

  @TempDir Path tmp;
  LoopFilesystem fs;
  final ProcessRunner runner = new ProcessRunner();
  Path testGroup;
  final List<Process> probes = new ArrayList<>();

  @BeforeEach
  void mount() throws Exception {
    fs = LoopFilesystem.create(tmp, "btrfs", 128);
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (testGroup != null) {
      killEveryProcessIn(testGroup);
      Files.deleteIfExists(testGroup);
    }
    runner.runAllowingFailure(Command.of("fsfreeze", "-u", fs.mountPoint().toString()), l -> {});
    for (Process p : probes) {
      p.waitFor(30, TimeUnit.SECONDS);
    }
    // a watchdog a failed test left: recognised by the mount it would thaw, unique to this test
    String mount = fs.mountPoint().toString();
    ProcessHandle.allProcesses()
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains(mount)).orElse(false))
        .forEach(ProcessHandle::destroyForcibly);
    fs.close();
    Path shared = v2Mount().map(m -> m.resolve(ControlGroups.NAME)).orElse(null);
    if (shared != null && Files.isDirectory(shared) && Files.readString(shared.resolve("cgroup.procs")).isBlank()) {
      Files.deleteIfExists(shared);
    }
  }

  /**
   * Whether a small write to the mount completes within {@code limit}. A writer on a frozen mount sleeps in the
   * kernel, unkillable, until the thaw: the probe is left to finish then (see {@link #cleanUp}), never killed and
   * waited for, which would take the ProcessRunner's kill grace and spoil the timing.
   */
  private boolean writes(Duration limit) throws Exception {
    Path f = fs.mountPoint().resolve("probe-" + System.nanoTime());
    Process p = new ProcessBuilder("sh", "-c", "echo x > \"$0\" && sync -f \"$0\"", f.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    probes.add(p);
    return p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS) && p.exitValue() == 0;
  }

  @Test
  void freezesThawsAndJournals() throws Exception {
    List<String> journal = new ArrayList<>();
    UndoLog log =
        new UndoLog() {
          @Override
          public void add(Undo undo) {
            journal.add("add " + undo.getClass().getSimpleName());
          }

          @Override
          public void done(Undo undo) {
            journal.add("done " + undo.getClass().getSimpleName());
          }
        };
    Freezer.FrozenMount frozen =
        new Freezer(runner, new Watchdogs(runner, Watchdogs.Host.DAEMON)).freeze(fs.mountPoint(), Duration.ofSeconds(30), log);
    long pid = frozen.watchdog().pid();
    assertThat(ProcessHandle.of(pid)).as("the watchdog runs").isPresent();
    assertThat(ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid))
        .as("and is no child of this JVM")
        .isNotEqualTo(java.util.Optional.of(ProcessHandle.current().pid()));
    assertThat(writes(Duration.ofSeconds(1))).as("writers block while frozen").isFalse();
    frozen.close();
    assertThat(writes(Duration.ofSeconds(10))).isTrue();
    assertThat(ProcessStart.of(pid)).as("the watchdog is stopped with the thaw").isEmpty();
    assertThat(journal).containsExactly("add Thaw", "add StopWatchdog", "done Thaw", "done StopWatchdog");
    frozen.close(); // idempotent
  }

  @Test
  void theRootFilesystemIsRefused() {
    assertThatThrownBy(() -> new Freezer(runner).freeze(Path.of("/"), Duration.ofSeconds(1), UndoLog.NONE))
        .hasMessageContaining("refusing to freeze the root filesystem");
  }

  /**
   * The whole process group of the backup, and every process of its tree, die with SIGKILL while the mount is
   * frozen (what a terminal's hang-up, or a supervisor killing the tree, does): the mount stays frozen until the
   * watchdog's limit, not before, and is writable right after it.
   */
  @Test
  void theWatchdogOutlivesASigkillOfTheProcessGroupAndTree() throws Exception {
    Child child = Child.start(tmp, List.of("setsid"), fs.mountPoint(), null);
    long pgid = child.process.pid(); // setsid made the child JVM the leader of its own group
    List<ProcessHandle> tree = child.process.descendants().toList();
    runner.run(Command.of("kill", "-KILL", "--", "-" + pgid));
    tree.forEach(ProcessHandle::destroyForcibly);
    child.process.waitFor(30, TimeUnit.SECONDS);
    frozenUntilTheLimitThenWritable(child.freezeStarted);
  }

  /**
   * The backup's control group is killed (what systemd does to stop a service, {@code KillMode=control-group}):
   * every process in it dies with SIGKILL at once. The watchdog moved itself out before the freeze, so it thaws
   * at its limit.
   */
  @Test
  void theWatchdogOutlivesAKillOfTheBackupsCgroup() throws Exception {
    Child child = startInOwnCgroup(null);
    killCgroup();
    child.process.waitFor(30, TimeUnit.SECONDS);
    frozenUntilTheLimitThenWritable(child.freezeStarted);
  }

  /**
   * After the cgroup kill, {@code recover} replays the journal: the mount is thawed at once (long before the
   * limit) and the watchdog is stopped and its cgroup removed, so it cannot thaw a later run's freeze early.
   */
  @Test
  void recoverThawsAndStopsTheWatchdog() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("backups"));
    Child child = startInOwnCgroup(root);
    killCgroup();
    child.process.waitFor(30, TimeUnit.SECONDS);
    assertThat(writes(Duration.ofMillis(500))).as("frozen after the kill").isFalse();
    List<Undo> pending = Journal.pending(Journal.read(root));
    assertThat(pending).hasSize(2);
    StopWatchdog watchdog = pending.stream().filter(u -> u instanceof StopWatchdog).map(u -> (StopWatchdog) u).findFirst().orElseThrow();
    assertThat(ProcessStart.of(watchdog.pid())).as("the journaled watchdog survived the kill").hasValue(watchdog.startTicks());
    assertThat(watchdog.cgroups()).containsExactly(v2Mount().orElseThrow().resolve(ControlGroups.NAME));
    Services services = Services.of(null, null, runner);
    for (Undo u : pending) {
      u.undo(services);
    }
    long recovered = System.currentTimeMillis();
    assertThat(writes(Duration.ofSeconds(2))).as("writable right after recover").isTrue();
    assertThat(recovered - child.freezeStarted).as("recover thawed it, not the watchdog").isLessThan(LIMIT_MILLIS);
    assertThat(ProcessStart.of(watchdog.pid())).as("the watchdog is stopped").isEmpty();
    assertThat(watchdog.cgroups().get(0)).as("its cgroup removed").doesNotExist();
    for (Undo u : pending) {
      u.undo(services); // replayed again: nothing left to do, no error
    }
  }

  private void frozenUntilTheLimitThenWritable(long freezeStarted) throws Exception {
    long killedAt = System.currentTimeMillis();
    assertThat(killedAt - freezeStarted).as("the kill came well within the limit").isLessThan(LIMIT_MILLIS - 2_500);
    assertThat(writes(Duration.ofMillis(500))).as("still frozen after the backup died").isFalse();
    long justBefore = freezeStarted + LIMIT_MILLIS - 1_500;
    Thread.sleep(Math.max(0, justBefore - System.currentTimeMillis()));
    assertThat(writes(Duration.ofSeconds(1))).as("still frozen just before the limit (an early thaw fails here)").isFalse();
    while (!writes(Duration.ofSeconds(1))) {
      assertThat(System.currentTimeMillis() - freezeStarted).as("writable again at the watchdog's limit").isLessThan(LIMIT_MILLIS + SLACK_MILLIS);
    }
    assertThat(System.currentTimeMillis() - freezeStarted).as("thawed at the limit, not before").isGreaterThanOrEqualTo(LIMIT_MILLIS);
  }

  /** A fresh v2 cgroup with the child JVM in it: the backup service's control group. */
  private Child startInOwnCgroup(Path journalRoot) throws Exception {
    Path v2 = v2Mount().orElse(null);
    if (v2 == null) {
      skipOrFail("the kernel has no cgroup v2 hierarchy mounted (no cgroup2 line in /proc/self/mountinfo)");
    }
    testGroup = v2.resolve("snapstash-it-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    Files.createDirectory(testGroup);
    return Child.start(
        tmp, List.of("sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", testGroup.toString()), fs.mountPoint(), journalRoot);
  }

  /** {@code cgroup.kill} where the kernel has it (5.14+); otherwise SIGKILL to every pid listed, until none is. */
  private void killCgroup() throws Exception {
    Path kill = testGroup.resolve("cgroup.kill");
    if (Files.exists(kill)) {
      Files.writeString(kill, "1");
    } else {
      System.out.println("FreezerIT: this kernel has no cgroup.kill; killing every pid in " + testGroup + "/cgroup.procs instead");
    }
    killEveryProcessIn(testGroup);
  }

  private static void killEveryProcessIn(Path group) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (Files.isDirectory(group) && System.nanoTime() < deadline) {
      List<String> pids = Files.readAllLines(group.resolve("cgroup.procs")).stream().filter(l -> !l.isBlank()).toList();
      if (pids.isEmpty()) {
        return;
      }
      pids.forEach(p -> ProcessHandle.of(Long.parseLong(p.strip())).ifPresent(ProcessHandle::destroyForcibly));
      Thread.sleep(50);
    }
  }

  static java.util.Optional<Path> v2Mount() {
    try {
      return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
          .filter(l -> l.contains(" - cgroup2 "))
          .map(l -> Path.of(l.split(" ")[4]))
          .findFirst();
    } catch (IOException e) {
      return java.util.Optional.empty();
    }
  }

  private static void skipOrFail(String why) {
    if (Boolean.getBoolean("snapstash.requireAll")) {
      throw new AssertionError(why + ", and snapstash.requireAll=true forbids skipping");
    }
    System.out.println("FreezerIT skipped: " + why);
    Assumptions.abort(why);
  }

  /** A child JVM that froze the mount through {@link Freezer} and holds at the while-frozen fault point. */
  record Child(Process process, long freezeStarted) {
    static Child start(Path tmp, List<String> prefix, Path mount, Path journalRoot) throws Exception {
      Path started = tmp.resolve("started");
      Path marker = tmp.resolve("marker");
      Files.deleteIfExists(started);
      Files.deleteIfExists(marker);
      List<String> argv = new ArrayList<>(prefix);
      argv.addAll(
          List.of(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(),
              "-D" + FaultPoints.PROPERTY + "=" + FaultPoints.ARMED,
              "-cp", System.getProperty("java.class.path"), FreezeAndHold.class.getName(),
              mount.toString(), String.valueOf(LIMIT_MILLIS), started.toString(),
              journalRoot == null ? "" : journalRoot.toString()));
      ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile());
      pb.environment().put(FaultPoints.ENV, FaultPoints.WHILE_FROZEN);
      pb.environment().put(FaultPoints.MARKER_ENV, marker.toString());
      Process p = pb.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!Files.exists(marker) && System.nanoTime() < deadline && p.isAlive()) {
        Thread.sleep(20);
      }
      assertThat(marker).as("the child reached " + FaultPoints.WHILE_FROZEN + ": " + Files.readString(tmp.resolve("child.log"))).exists();
      assertThat(Files.readString(marker)).startsWith(FaultPoints.WHILE_FROZEN + " ");
      return new Child(p, Long.parseLong(Files.readString(started).strip()));
    }
  }

  /** Runs in a child JVM: notes the time, freezes (journaled when given a root) and holds at the fault point. */
  public static final class FreezeAndHold {
    public static void main(String[] args) throws Exception {
      long started = System.currentTimeMillis(); // the watchdog's limit runs from after this
      Files.writeString(Path.of(args[2]), started + "\n");
      UndoLog log = args[3].isEmpty() ? UndoLog.NONE : Journal.begin(Path.of(args[3]), "backup", "freezer-it");
      ProcessRunner runner = new ProcessRunner();
      new Freezer(runner).freeze(Path.of(args[0]), Duration.ofMillis(Long.parseLong(args[1])), log);
      Thread.sleep(120_000); // only if the fault point was not armed; the test kills us long before
    }
  }
}
