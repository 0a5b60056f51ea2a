package dev.snapstash.strategy.disk.rsync;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HomeChangeTrackerTest {
  @TempDir Path tmp;

  private static final String LOCAL_ROOT = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n";

  @Test
  void aHomeOnALocalFilesystemCanBeTracked() {
    assertThat(HomeChangeTracker.untrustedMount(LOCAL_ROOT, Path.of("/var/atlassian/bitbucket"))).isEmpty();
  }

  @Test
  void aHomeOnNfsCannot() {
    String mounts = LOCAL_ROOT + "40 22 0:50 / /mnt/bitbucket rw - nfs4 filer:/export rw,vers=4.2\n";
    assertThat(HomeChangeTracker.untrustedMount(mounts, Path.of("/mnt/bitbucket/home")))
        .hasValueSatisfying(why -> assertThat(why).contains("nfs4"));
  }

  /** Bitbucket Data Center: a local home whose shared/ is an NFS mount written by the other nodes. */
  @Test
  void norOneWithANetworkMountInside() {
    String mounts = LOCAL_ROOT + "41 22 0:51 / /var/bb/home/shared rw - nfs filer:/shared rw\n";
    assertThat(HomeChangeTracker.untrustedMount(mounts, Path.of("/var/bb/home")))
        .hasValueSatisfying(why -> assertThat(why).contains("/var/bb/home/shared").contains("nfs"));
    // A mount elsewhere whose name merely starts like the home is not inside it.
    String beside = LOCAL_ROOT + "41 22 0:51 / /var/bb/home-old rw - nfs filer:/old rw\n";
    assertThat(HomeChangeTracker.untrustedMount(beside, Path.of("/var/bb/home"))).isEmpty();
  }

  @Test
  void theInnermostMountHoldingTheHomeDecidesAndEscapedNamesAreRead() {
    String mounts =
        LOCAL_ROOT
            + "40 22 0:50 / /srv rw - cifs //nas/srv rw\n"
            + "41 40 254:1 / /srv/bit\\040bucket rw - xfs /dev/vdb rw\n";
    assertThat(HomeChangeTracker.untrustedMount(mounts, Path.of("/srv/bit bucket/home"))).isEmpty();
    assertThat(HomeChangeTracker.untrustedMount(mounts, Path.of("/srv/other"))).isPresent();
  }

  /** A sysctl file reads whole only line by line: Files.readString gave "1" for 192536. */
  @Test
  void theWatchLimitIsReadWhole() throws Exception {
    long expected = Long.parseLong(new String(new java.io.FileInputStream("/proc/sys/fs/inotify/max_user_watches").readAllBytes()).strip());
    assertThat(HomeChangeTracker.watchLimit()).contains(expected);
    assertThat(expected).isGreaterThan(1);
  }

  @Test
  void theLocalTestDirectoryIsTrackable() {
    assertThat(HomeChangeTracker.untrustedMount(tmp)).isEmpty();
  }

  @Test
  void excludedDirectoriesAreRecognisedOnlyWhenThePatternIsSimple() {
    Predicate<String> skip = RsyncCommands.excludedDirectories(RsyncCommands.DISPOSABLE);
    assertThat(skip).accepts("caches", "log", "shared/export", "plugins/.osgi-cache", "shared/plugins/.bundled-plugins");
    assertThat(skip).rejects("shared", "shared/data/repositories/1", "plugins/installed-plugins", "caches2", "x/caches");
    // Unanchored ones match at any depth, as rsync does: Git's push quarantine.
    assertThat(skip).accepts("shared/data/repositories/1/objects/incoming-a1b2", "objects/incoming-x");
    assertThat(skip).rejects("shared/data/repositories/1/objects/pack", "shared/data/repositories/1/xobjects/incoming-1");
    // Anything fancier is left to rsync: watching what it then excludes only costs a watch.
    assertThat(RsyncCommands.excludedDirectories(List.of("*.tmp", "/a/**/", "/b?/"))).rejects("x.tmp", "a/b", "bc");
  }

  @Test
  void changesInsideSkippedDirectoriesAreNotRecorded() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("caches/deep"));
    Files.createDirectories(home.resolve("shared"));
    Path barrier = Files.createDirectories(tmp.resolve("barrier"));
    HomeChangeTracker tracker =
        HomeChangeTracker.start(home, RsyncCommands.excludedDirectories(RsyncCommands.DISPOSABLE), barrier).tracker().orElseThrow();
    Files.writeString(home.resolve("caches/deep/x"), "x");
    Files.writeString(home.resolve("shared/y"), "y");
    HomeChangeTracker.Changes changes = tracker.collect(Duration.ofSeconds(10)).orElseThrow();
    tracker.close();
    assertThat(changes.directories()).containsExactly("shared");
    assertThat(changes.subtrees()).isEmpty();
  }

  @Test
  void aCheckpointHandsOverWhatChangedSoFarAndGoesOnWatching() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("a"));
    Files.createDirectories(home.resolve("b"));
    Path barrier = Files.createDirectories(tmp.resolve("barrier"));
    HomeChangeTracker tracker = HomeChangeTracker.start(home, d -> false, barrier).tracker().orElseThrow();
    Files.writeString(home.resolve("a/1"), "1");
    HomeChangeTracker.Changes first = tracker.checkpoint(Duration.ofSeconds(10)).orElseThrow();
    Files.writeString(home.resolve("b/2"), "2");
    Files.createDirectories(home.resolve("b/new/deeper"));
    HomeChangeTracker.Changes second = tracker.collect(Duration.ofSeconds(10)).orElseThrow();
    tracker.close();
    assertThat(first.directories()).containsExactly("a");
    assertThat(second.directories()).containsExactly("b");
    assertThat(second.subtrees()).containsExactly("b/new");
  }

  @Test
  void directoriesWithHardLinkedFilesAreInEveryRecord() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("a"));
    Files.createDirectories(home.resolve("b"));
    Files.createDirectories(home.resolve("c"));
    Files.writeString(home.resolve("a/f"), "f");
    Files.createLink(home.resolve("b/g"), home.resolve("a/f"));
    Files.writeString(home.resolve("c/h"), "h");
    Path barrier = Files.createDirectories(tmp.resolve("barrier"));
    HomeChangeTracker tracker = HomeChangeTracker.start(home, d -> false, barrier).tracker().orElseThrow();
    assertThat(tracker.checkpoint(Duration.ofSeconds(10)).orElseThrow().directories()).containsExactly("a", "b");
    Files.writeString(home.resolve("c/h"), "changed");
    assertThat(tracker.collect(Duration.ofSeconds(10)).orElseThrow().directories()).containsExactly("a", "b", "c");
    tracker.close();
  }

  @Test
  void tooManyDirectoriesWithHardLinkedFilesTurnTrackingOff() throws Exception {
    Path home = tmp.resolve("home");
    Path original = Files.createDirectories(home.resolve("o")).resolve("f");
    Files.writeString(original, "f");
    for (int i = 0; i < HomeChangeTracker.MAX_LINKED_DIRECTORIES; i++) {
      Files.createLink(Files.createDirectories(home.resolve("d" + i)).resolve("f"), original);
    }
    Path barrier = Files.createDirectories(tmp.resolve("barrier"));
    HomeChangeTracker.Result result = HomeChangeTracker.start(home, d -> false, barrier);
    assertThat(result.tracker()).isEmpty();
    assertThat(result.whyNot()).isEqualTo("2001 directories hold hard-linked files, and each delta would compare them all");
  }

  @Test
  void nestedAndVanishedSubtreesAreFolded() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("a/b/c"));
    Files.createDirectories(home.resolve("d"));
    HomeChangeTracker.Changes changes =
        HomeChangeTracker.changes(
            home,
            java.util.Set.of(home.resolve("a/b"), home.resolve("d"), home.resolve("gone")),
            java.util.Set.of(home.resolve("a"), home.resolve("a/b/c"), home.resolve("vanished")));
    assertThat(changes.subtrees()).containsExactly("a");
    assertThat(changes.directories()).containsExactly("d");
  }
}
