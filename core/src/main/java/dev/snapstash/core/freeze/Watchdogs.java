package dev.snapstash.core.freeze;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.Executables;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the freeze watchdog: something outside this process, its process tree and its control group that thaws
 * a mount after a limit unless stopped first. It has to outlive every way the backup can die: SIGKILL of the JVM
 * or of its whole process group, and the service manager stopping the service by killing its control group.
 *
 * <ul>
 *   <li>Where systemd is PID 1 ({@link Host#SYSTEMD}): a transient timer unit, {@code systemd-run --on-active},
 *       that starts {@code fsfreeze -u} at the limit. Chosen over a transient service with {@code RuntimeMaxSec}
 *       because nothing runs until the limit: there is no process at all to be killed, the unit lives in
 *       systemd's own tree (not the backup service's cgroup), and {@code systemctl list-timers} shows an
 *       administrator what will thaw and when. {@code AccuracySec} is set, or systemd may fire up to a minute late.
 *   <li>Elsewhere ({@link Host#DAEMON}): a shell forked twice ({@code sh}, {@code setsid -f}: reparented away from this JVM,
 *       its own session and process group) that moves itself into the {@value ControlGroups#NAME} cgroup of each
 *       process-tracking hierarchy ({@link ControlGroups}), says it is ready, closes its standard streams, sleeps
 *       and thaws. It is journaled with its start time, so {@code recover} never kills a reused pid.
 * </ul>
 */
public final class Watchdogs {
  private static final Logger log = LoggerFactory.getLogger(Watchdogs.class);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final AtomicLong SEQUENCE = new AtomicLong();

  /** What the watchdog can be built on here. */
  public enum Host {
    SYSTEMD,
    DAEMON
  }

  /**
   * The daemon: $0 is the mount, $1 the seconds, the rest the cgroup directories to join. Joining comes before
   * "ready" so that the freeze, which waits for "ready", never happens while the watchdog is still inside the
   * backup's cgroup; the streams are closed after it, which is what lets the caller's read of them end.
   */
  static final String DAEMON_SCRIPT =
      String.join(
          "\n",
          "m=$0 s=$1",
          "shift",
          "for g in \"$@\"; do echo $$ > \"$g/cgroup.procs\" || exit 1; done",
          "cd / || exit 1",
          "echo \"$$ ready\"",
          "exec </dev/null >/dev/null 2>&1",
          "sleep \"$s\"",
          "exec fsfreeze -u \"$m\"");

  private final ProcessRunner runner;
  private final Host host;

  public Watchdogs(ProcessRunner runner, Host host) {
    this.runner = runner;
    this.host = host;
  }

  /** The watchdog this machine supports best. */
  public static Watchdogs detect(ProcessRunner runner) {
    return new Watchdogs(runner, detectHost());
  }

  public Host host() {
    return host;
  }

  /** {@link Host#SYSTEMD} where systemd runs as PID 1 (sd_booted's test) and {@code systemd-run} is installed. */
  public static Host detectHost() {
    String pid1;
    try {
      pid1 = Files.readString(Path.of("/proc/1/comm"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      pid1 = "";
    }
    return detectHost(pid1, Files.isDirectory(Path.of("/run/systemd/system")), Executables.find("systemd-run").isPresent());
  }

  static Host detectHost(String pid1Comm, boolean runSystemdSystem, boolean systemdRun) {
    return pid1Comm.strip().equals("systemd") && runSystemdSystem && systemdRun ? Host.SYSTEMD : Host.DAEMON;
  }

  /** Starts a watchdog that thaws {@code mount} after {@code limit}; returns it as the undo step that stops it. */
  public StopWatchdog start(Path mount, Duration limit) {
    if (host == Host.SYSTEMD) {
      String unit = unitName(ProcessHandle.current().pid(), SEQUENCE.incrementAndGet());
      Path fsfreeze = Executables.find("fsfreeze").orElse(Path.of("/usr/sbin/fsfreeze"));
      var r = runner.runAllowingFailure(systemdTimer(unit, mount, limit, fsfreeze), l -> {});
      if (r.exitCode() == 0) {
        log.info("freeze watchdog: systemd timer {}.timer thaws {} after {} ms", unit, mount, limit.toMillis());
        return StopWatchdog.timer(mount, unit);
      }
      log.warn("systemd-run could not start the freeze watchdog ({}); using a detached process instead", r.stderrTail());
    }
    return startDaemon(mount, limit);
  }

  private StopWatchdog startDaemon(Path mount, Duration limit) {
    List<Path> groups = watchdogGroups();
    for (Path g : groups) {
      try {
        Files.createDirectories(g);
      } catch (IOException e) {
        throw new SnapstashException(
            ErrorKind.PRECONDITION,
            "cannot create the freeze watchdog's cgroup " + g + " (" + e.getMessage() + "); without it, stopping the"
                + " backup's service would kill the watchdog and leave the home frozen: run snapstash as root");
      }
    }
    var r = runner.runAllowingFailure(daemon(mount, limit, groups), l -> {});
    long pid = ready(r.stdout());
    OptionalLong started = pid > 0 ? ProcessStart.of(pid) : OptionalLong.empty();
    if (r.exitCode() != 0 || pid <= 0 || started.isEmpty()) {
      throw new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND,
          "could not start the freeze watchdog for " + mount + ", so nothing was frozen: "
              + (r.stderrTail().isBlank() ? "it did not report ready" : r.stderrTail()));
    }
    log.info("freeze watchdog: pid {} (own session{}) thaws {} after {} ms", pid,
        groups.isEmpty() ? "" : ", cgroups " + groups, mount, limit.toMillis());
    return StopWatchdog.process(mount, pid, started.getAsLong(), groups);
  }

  /** The watchdog cgroups for this JVM, from its own {@code /proc/self} files. */
  static List<Path> watchdogGroups() {
    try {
      return ControlGroups.watchdogGroups(
          Files.readString(Path.of("/proc/self/cgroup")), Files.readString(Path.of("/proc/self/mountinfo")));
    } catch (IOException e) {
      return List.of();
    }
  }

  static String unitName(long pid, long sequence) {
    return "snapstash-thaw-" + pid + "-" + sequence;
  }

  /** Seconds for sleep(1), to the millisecond. */
  static String seconds(Duration limit) {
    return String.format(Locale.ROOT, "%.3f", limit.toMillis() / 1000.0);
  }

  /** The transient timer (and the service it starts) that thaws {@code mount} after {@code limit}. */
  static Command systemdTimer(String unit, Path mount, Duration limit, Path fsfreeze) {
    return Command.of(
            "systemd-run",
            "--quiet",
            "--collect",
            "--unit=" + unit,
            "--description=snapstash freeze watchdog: thaws " + mount + " if the backup that froze it dies",
            "--on-active=" + limit.toMillis() + "ms",
            "--timer-property=AccuracySec=100ms",
            fsfreeze.toString(),
            "-u",
            mount.toString())
        .withTimeout(START_TIMEOUT);
  }

  static Command stopTimer(String unit) {
    return Command.of("systemctl", "stop", unit + ".timer").withTimeout(START_TIMEOUT);
  }

  /**
   * Relays the daemon's "ready" line, then exits. It must outlast the line: the JVM stops reading a child's
   * output when that child exits, and a daemon writing to the closed pipe after that would die of SIGPIPE.
   */
  static final String LAUNCH_SCRIPT = "setsid -f sh -c \"$0\" \"$@\" | { IFS= read -r line && echo \"$line\"; }";

  /**
   * The double-forked daemon ({@code sh}, then {@code setsid -f}); the mount and the cgroups are arguments, never
   * part of a script's text.
   */
  static Command daemon(Path mount, Duration limit, List<Path> cgroups) {
    List<String> argv = new ArrayList<>(List.of("sh", "-c", LAUNCH_SCRIPT, DAEMON_SCRIPT, mount.toString(), seconds(limit)));
    cgroups.forEach(g -> argv.add(g.toString()));
    return Command.of(argv).capturingStdout().withTimeout(START_TIMEOUT);
  }

  /** The pid in the daemon's "PID ready" line, or -1. */
  static long ready(String stdout) {
    for (String line : stdout.split("\n")) {
      String[] f = line.strip().split(" ");
      if (f.length == 2 && f[1].equals("ready") && f[0].matches("[0-9]{1,10}")) {
        return Long.parseLong(f[0]);
      }
    }
    return -1;
  }
}
