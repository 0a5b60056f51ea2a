package dev.snapstash.core.freeze;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The freeze watchdog of a mount, as journaled (name {@value #NAME}): either a systemd timer unit ({@code unit})
 * or a detached process ({@code pid}, its {@code startTicks} from {@code /proc/<pid>/stat} so that a reused pid is
 * never killed, and the {@code cgroups} it was moved into). Undoing it thaws the mount first, then stops the
 * watchdog: a watchdog stopped while the mount is still frozen would leave nobody to thaw it.
 */
public record StopWatchdog(Path mountPoint, String unit, Long pid, Long startTicks, List<Path> cgroups) implements Undo {
  public static final String NAME = "stop-watchdog";
  private static final Logger log = LoggerFactory.getLogger(StopWatchdog.class);

  public StopWatchdog {
    cgroups = cgroups == null ? List.of() : List.copyOf(cgroups);
  }

  static StopWatchdog timer(Path mountPoint, String unit) {
    return new StopWatchdog(mountPoint, unit, null, null, List.of());
  }

  static StopWatchdog process(Path mountPoint, long pid, long startTicks, List<Path> cgroups) {
    return new StopWatchdog(mountPoint, null, pid, startTicks, cgroups);
  }

  @Override
  public int order() {
    return THAW;
  }

  @Override
  public String describe() {
    return "stop the freeze watchdog of " + mountPoint + (unit != null ? " (systemd " + unit + ".timer)" : " (pid " + pid + ")");
  }

  @Override
  public void undo(Services services) {
    Thaw.thaw(services.runner(), mountPoint);
    stop(services.runner());
  }

  /** Stops the watchdog (idempotent: one that already fired or was stopped counts as stopped). */
  void stop(ProcessRunner runner) {
    if (unit != null) {
      var r = runner.runAllowingFailure(Watchdogs.stopTimer(unit), l -> {});
      // 5: the unit is not loaded, because it fired and was collected or was stopped already
      if (r.exitCode() != 0 && r.exitCode() != 5) {
        throw new SnapstashException(
            ErrorKind.EXTERNAL_COMMAND, "could not stop the freeze watchdog " + unit + ".timer: " + r.stderrTail());
      }
      return;
    }
    OptionalLong started = ProcessStart.of(pid);
    if (started.isPresent() && started.getAsLong() == startTicks) {
      List<Long> killed = new java.util.ArrayList<>(List.of(pid));
      ProcessHandle.of(pid)
          .ifPresent(
              h -> {
                List<ProcessHandle> sleeping = h.descendants().toList();
                // the shell first: with its sleep killed first it would go on to thaw, which is harmless but late
                h.destroyForcibly();
                sleeping.forEach(ProcessHandle::destroyForcibly);
                sleeping.forEach(c -> killed.add(c.pid()));
              });
      // the cgroup can go only once every process in it has exited, its sleep too
      killed.forEach(StopWatchdog::awaitExit);
    } else if (started.isPresent()) {
      log.debug("pid {} is no longer the freeze watchdog (started at {}, not {}): left alone", pid, started.getAsLong(), startTicks);
    }
    for (Path group : cgroups) {
      removeIfEmpty(group);
    }
  }

  /** Until the process has exited: a zombie counts, and init may take seconds to reap it. */
  private static void awaitExit(long pid) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (ProcessStart.of(pid).isPresent() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** The shared watchdog cgroup goes when its last watchdog has; busy (another watchdog lives in it) is fine. */
  private static void removeIfEmpty(Path group) {
    for (int attempt = 0; attempt < 20; attempt++) {
      try {
        if (!Files.isDirectory(group)) {
          return;
        }
        if (!Files.readString(group.resolve("cgroup.procs")).isBlank()) {
          return;
        }
        Files.delete(group);
        return;
      } catch (IOException e) {
        // an exiting process may still count for a moment
        try {
          Thread.sleep(50);
        } catch (InterruptedException i) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
    log.debug("left the empty cgroup {} in place", group);
  }
}
