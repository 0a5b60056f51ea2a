package dev.snapstash.strategy.disk.rsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.strategy.disk.RsyncCommands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code check} says of the tracker's inotify and listing, each tried on a real home. */
class TrackerCheckTest {
  @TempDir Path tmp;

  private Path home() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("shared/data/repositories/1/objects"));
    Files.createDirectories(home.resolve("caches/deep/er")); // excluded: never watched, so not counted
    Files.writeString(home.resolve("shared/bitbucket.properties"), "a=b\n");
    return home;
  }

  @Test
  void nativeByDefaultWithTheWatchLimitAndTheDirectoriesToWatch() throws Exception {
    Map<String, Findings.Finding> f = check(home(), Optional.empty(), Optional.of(65536L));
    assertThat(f.get("inotify").message())
        .isEqualTo("native (inotify_init1 and inotify_add_watch through JNA; fs.inotify.max_user_watches 65536, the"
            + " home has 6 directories)");
    assertThat(f.get("listing").message()).isEqualTo("native (open, readdir and statx through JNA)");
    assertThat(f.values()).noneMatch(x -> x.problem() || x.warning());
  }

  @Test
  void theFallbacksWithTheSwitchOffNamingIt() throws Exception {
    Map<String, Findings.Finding> f = check(home(), Optional.of("SNAPSTASH_NATIVE=off"), Optional.of(65536L));
    assertThat(f.get("inotify").message())
        .isEqualTo("JDK WatchService (SNAPSTASH_NATIVE=off; fs.inotify.max_user_watches 65536, the home has 6 directories)");
    assertThat(f.get("listing").message()).isEqualTo("java.nio (SNAPSTASH_NATIVE=off)");
    assertThat(f.values()).noneMatch(x -> x.problem() || x.warning());
  }

  /** More directories than watches: tracking would switch itself off at the start of every backup. */
  @Test
  void aWarningWhenTheHomeHasMoreDirectoriesThanTheWatchLimit() throws Exception {
    Map<String, Findings.Finding> f = check(home(), Optional.empty(), Optional.of(3L));
    assertThat(f.get("inotify").warning()).isTrue();
    assertThat(f.get("inotify").message())
        .contains("the home has more than 4 directories")
        .contains("raise the sysctl fs.inotify.max_user_watches");
  }

  /** The check a backup's preflight and {@code snapstash check} run, through the strategy. */
  @Test
  void theStrategysCheckReportsBothPathsOrWhyTheyAreNotUsed() throws Exception {
    Path home = home();
    Findings tracked = new Findings();
    new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, new ProcessRunner()).check(tracked);
    assertThat(tracked.all()).extracting(Findings.Finding::subject).contains("disk.rsync.track-changes", "inotify", "listing");
    Findings untracked = new Findings();
    new RsyncDiskStrategy(home, List.of(), true, true, false, true, false, 1, new ProcessRunner()).check(untracked);
    assertThat(untracked.all())
        .filteredOn(x -> x.subject().equals("inotify") || x.subject().equals("listing"))
        .extracting(Findings.Finding::message)
        .containsExactly("not used (disk.rsync.track-changes is false)", "not used (disk.rsync.track-changes is false)");
  }

  /**
   * A backup's preflight runs the same check beside the run's own walk of the home: no second walk there to count
   * directories, which on a large home would take its 2 s of CPU from the walk that matters. Once the run is
   * closed (and only closing it counts, however often), check walks again.
   */
  @Test
  void aBackupsPreflightLeavesTheHomeToTheRunsOwnWalk() throws Exception {
    RsyncDiskStrategy rsync = new RsyncDiskStrategy(home(), List.of(), true, true, false, true, true, 1, new ProcessRunner());
    Path backups = Files.createDirectories(tmp.resolve("backups"));
    DiskStrategy.Run run = rsync.begin(backups);
    DiskStrategy.Run without = rsync.beginWithoutEarlyWalk();
    try {
      without.close(); // a run with no walk beside the preflight leaves the count alone
      assertThat(subjects(rsync)).contains("disk.rsync.track-changes").doesNotContain("inotify", "listing");
    } finally {
      run.close();
    }
    run.close();
    assertThat(subjects(rsync)).contains("disk.rsync.track-changes", "inotify", "listing");
    DiskStrategy.Run next = rsync.begin(backups);
    try {
      assertThat(subjects(rsync)).doesNotContain("inotify", "listing");
    } finally {
      next.close();
    }
  }

  private static List<String> subjects(RsyncDiskStrategy rsync) {
    Findings findings = new Findings();
    rsync.check(findings);
    return findings.all().stream().map(Findings.Finding::subject).toList();
  }

  private static Map<String, Findings.Finding> check(Path home, Optional<String> off, Optional<Long> limit) {
    Findings findings = new Findings();
    TrackerCheck.check(home, RsyncCommands.excludedDirectories(RsyncCommands.DISPOSABLE), off, limit, findings);
    return findings.all().stream().collect(Collectors.toMap(Findings.Finding::subject, x -> x));
  }
}
