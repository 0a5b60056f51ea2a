package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.strategy.disk.HomeCopy;
import dev.snapstash.strategy.disk.RsyncCommands;
import dev.snapstash.strategy.disk.RsyncOutput;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HomeChangeTrackerTest {
  @TempDir Path tmp;

  private static final String LOCAL_ROOT = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n";

  @Test
  void aHomeOnALocalFilesystemCanBeTracked() {
    assertThat(MountPolicy.untrustedMount(LOCAL_ROOT, Path.of("/var/atlassian/bitbucket"))).isEmpty();
  }

  @Test
  void aHomeOnNfsCannot() {
    String mounts = LOCAL_ROOT + "40 22 0:50 / /mnt/bitbucket rw - nfs4 filer:/export rw,vers=4.2\n";
    assertThat(MountPolicy.untrustedMount(mounts, Path.of("/mnt/bitbucket/home")))
        .hasValueSatisfying(why -> assertThat(why).contains("nfs4"));
  }

  /** Bitbucket Data Center: a local home whose shared/ is an NFS mount written by the other nodes. */
  @Test
  void norOneWithANetworkMountInside() {
    String mounts = LOCAL_ROOT + "41 22 0:51 / /var/bb/home/shared rw - nfs filer:/shared rw\n";
    assertThat(MountPolicy.untrustedMount(mounts, Path.of("/var/bb/home")))
        .hasValueSatisfying(why -> assertThat(why).contains("/var/bb/home/shared").contains("nfs"));
    // A mount elsewhere whose name merely starts like the home is not inside it.
    String beside = LOCAL_ROOT + "41 22 0:51 / /var/bb/home-old rw - nfs filer:/old rw\n";
    assertThat(MountPolicy.untrustedMount(beside, Path.of("/var/bb/home"))).isEmpty();
  }

  @Test
  void theInnermostMountHoldingTheHomeDecidesAndEscapedNamesAreRead() {
    String mounts =
        LOCAL_ROOT
            + "40 22 0:50 / /srv rw - cifs //nas/srv rw\n"
            + "41 40 254:1 / /srv/bit\\040bucket rw - xfs /dev/vdb rw\n";
    assertThat(MountPolicy.untrustedMount(mounts, Path.of("/srv/bit bucket/home"))).isEmpty();
    assertThat(MountPolicy.untrustedMount(mounts, Path.of("/srv/other"))).isPresent();
  }

  /** A sysctl file reads whole only line by line: Files.readString gave "1" for 192536. */
  @Test
  void theWatchLimitIsReadWhole() throws Exception {
    long expected = Long.parseLong(new String(new java.io.FileInputStream("/proc/sys/fs/inotify/max_user_watches").readAllBytes()).strip());
    assertThat(MountPolicy.watchLimit()).contains(expected);
    assertThat(expected).isGreaterThan(1);
  }

  @Test
  void theLocalTestDirectoryIsTrackable() {
    assertThat(MountPolicy.untrustedMount(tmp)).isEmpty();
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
    Changes changes = tracker.collect(Duration.ofSeconds(10)).orElseThrow();
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
    Changes first = tracker.checkpoint(Duration.ofSeconds(10)).orElseThrow();
    Files.writeString(home.resolve("b/2"), "2");
    Files.createDirectories(home.resolve("b/new/deeper"));
    Changes second = tracker.collect(Duration.ofSeconds(10)).orElseThrow();
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

  /** The native paths (whatever the switch of this JVM says), and the fallbacks as the switch forces them. */
  private static final Optional<String> NATIVE = Optional.empty();
  private static final Optional<String> OFF = Optional.of("SNAPSTASH_NATIVE=off");

  /**
   * With the switch off, the tracker watches through the JDK's WatchService and lists through java.nio, and
   * records the same changes as the native paths: a file made, written, chmod'ed, deleted; a directory made with one
   * inside it, a directory renamed; and a change in a directory made before the first checkpoint.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(booleans = {true, false})
  void theFallbacksRecordTheSameChangesAsTheNativePaths(boolean nativePaths) throws Exception {
    Path home = tmp.resolve("home");
    for (String d : List.of("a", "b", "c", "e", "g", "m/old/inner")) {
      Files.createDirectories(home.resolve(d));
    }
    Files.writeString(home.resolve("b/x"), "x");
    Files.writeString(home.resolve("e/f"), "f");
    Files.writeString(home.resolve("g/h"), "h");
    Path barrier = Files.createDirectories(tmp.resolve("barrier"));
    HomeChangeTracker tracker =
        HomeChangeTracker.start(home, d -> false, barrier, false, nativePaths ? NATIVE : OFF).tracker().orElseThrow();
    try {
      assertThat(tracker.paths()).extracting(p -> p.part() + " " + p.nativePath())
          .containsExactly("inotify " + nativePaths, "listing " + nativePaths);
      if (!nativePaths) {
        assertThat(tracker.paths()).extracting(p -> p.describe())
            .containsExactly("JDK WatchService (SNAPSTASH_NATIVE=off)", "java.nio (SNAPSTASH_NATIVE=off)");
      }
      Files.writeString(home.resolve("a/1"), "1");
      Files.writeString(home.resolve("e/f"), "written");
      Files.setPosixFilePermissions(home.resolve("b/x"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      Files.delete(home.resolve("g/h"));
      Files.createDirectories(home.resolve("c/new/deeper"));
      Files.move(home.resolve("m/old"), home.resolve("m/renamed"));
      Changes first = tracker.checkpoint(Duration.ofSeconds(10)).orElseThrow();
      Files.writeString(home.resolve("c/new/deeper/later"), "in a new subtree");
      Files.writeString(home.resolve("a/2"), "2");
      Changes second = tracker.collect(Duration.ofSeconds(10)).orElseThrow();

      assertThat(first.directories()).containsExactly("a", "b", "c", "e", "g", "m");
      assertThat(first.subtrees()).containsExactly("c/new", "m/renamed");
      assertThat(second.directories()).containsExactly("a");
      assertThat(second.subtrees()).containsExactly("c/new", "m/renamed");
    } finally {
      tracker.close();
    }
  }

  /**
   * The JDK's watch service may hand a barrier's event over before an event raised earlier, within one read: the
   * record is handed over after the read, so such an event is in the checkpoint it belongs to. Shown with an
   * inotify that does exactly that, every time: it holds events until a barrier's, then hands that one first.
   */
  @Test
  void anEventReadAfterItsBarrierInTheSameReadIsStillInThatCheckpoint() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("a"));
    Files.createDirectories(home.resolve("b"));
    Path barrier = Files.createDirectories(tmp.resolve("barrier"));
    HomeChangeTracker tracker =
        HomeChangeTracker.start(home, d -> false, barrier, false, new BarrierFirst(Inotify.open(OFF)), Listing.choose(OFF))
            .tracker().orElseThrow();
    try {
      Files.writeString(home.resolve("a/1"), "1");
      assertThat(tracker.checkpoint(Duration.ofSeconds(10)).orElseThrow().directories()).containsExactly("a");
      Files.writeString(home.resolve("b/2"), "2");
      assertThat(tracker.collect(Duration.ofSeconds(10)).orElseThrow().directories()).containsExactly("b");
    } finally {
      tracker.close();
    }
  }

  /**
   * An inotify at the loosest its contract allows: each event is handed over in the call that hands over the
   * barrier event raised after it (the barrier directory is the first one watched), but after that one.
   */
  private static final class BarrierFirst extends Inotify {
    private record Event(int wd, int mask, String name) {}

    private final Inotify delegate;
    private int barrierWd = -1;
    private final List<Event> held = new java.util.ArrayList<>();

    BarrierFirst(Inotify delegate) {
      this.delegate = delegate;
    }

    @Override
    dev.snapstash.core.util.Natives.Choice choice() {
      return delegate.choice();
    }

    @Override
    int watch(byte[] path, String name, int mask) throws java.io.IOException {
      int wd = delegate.watch(path, name, mask);
      if (barrierWd < 0) {
        barrierWd = wd;
      }
      return wd;
    }

    @Override
    void read(int timeoutMillis, Sink sink) throws java.io.IOException {
      List<Event> barriers = new java.util.ArrayList<>();
      delegate.read(timeoutMillis, (wd, mask, name) -> (wd == barrierWd ? barriers : held).add(new Event(wd, mask, name)));
      if (!barriers.isEmpty()) {
        barriers.forEach(e -> sink.event(e.wd(), e.mask(), e.name()));
        held.forEach(e -> sink.event(e.wd(), e.mask(), e.name()));
        held.clear();
      }
    }

    @Override
    public void close() {
      delegate.close();
    }
  }

  /** The digests a walk takes through java.nio are those it takes through the C library, directory by directory. */
  @Test
  void theFallbackListingTakesTheSameDigests() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("repo/objects/ab"));
    Files.writeString(home.resolve("repo/HEAD"), "ref: refs/heads/main\n");
    Files.write(home.resolve("repo/objects/ab/cdef"), new byte[4096]);
    Files.createLink(home.resolve("repo/linked"), home.resolve("repo/HEAD"));
    Files.createSymbolicLink(home.resolve("repo/link"), Path.of("objects"));
    Thread.sleep(1_100); // change times within the last second are too recent for a digest to vouch for
    java.util.Map<String, dev.snapstash.core.home.HomeIndex.Dir> nativeDigests = digests(home, NATIVE);
    assertThat(nativeDigests).containsKeys("", "repo", "repo/objects", "repo/objects/ab");
    assertThat(nativeDigests.values()).allMatch(dev.snapstash.core.home.HomeIndex.Dir::known);
    assertThat(digests(home, OFF)).isEqualTo(nativeDigests);
  }

  private java.util.Map<String, dev.snapstash.core.home.HomeIndex.Dir> digests(Path home, Optional<String> off)
      throws Exception {
    Path barrier = Files.createDirectories(tmp.resolve("barrier-" + off.isPresent()));
    HomeChangeTracker tracker = HomeChangeTracker.start(home, d -> false, barrier, true, off).tracker().orElseThrow();
    try {
      return java.util.Map.copyOf(tracker.digests());
    } finally {
      tracker.close();
    }
  }

  @Test
  void nestedAndVanishedSubtreesAreFolded() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("a/b/c"));
    Files.createDirectories(home.resolve("d"));
    Changes changes =
        HomeChangeTracker.changes(
            home,
            java.util.Set.of(home.resolve("a/b"), home.resolve("d"), home.resolve("gone")),
            java.util.Set.of(home.resolve("a"), home.resolve("a/b/c"), home.resolve("vanished")));
    assertThat(changes.subtrees()).containsExactly("a");
    assertThat(changes.directories()).containsExactly("d");
  }

  /**
   * The walk reads attributes through the C library; its digests must be what they were when Java's {@code unix:}
   * view read them (the reference below is that earlier code), or every index written before would differ.
   */
  @Test
  void digestsAreTakenOverTheSameTextAsJavaReadsIt() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("repo/objects/ab"));
    Files.createDirectories(home.resolve("empty"));
    Files.writeString(home.resolve("repo/HEAD"), "ref: refs/heads/main\n");
    Files.write(home.resolve("repo/objects/ab/cdef"), new byte[4096]);
    Files.createLink(home.resolve("repo/linked"), home.resolve("repo/HEAD"));
    Files.createSymbolicLink(home.resolve("repo/link"), Path.of("objects"));
    Files.writeString(home.resolve("Zeta"), "upper case sorts first");
    boolean utf8 = java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding")).equals(java.nio.charset.StandardCharsets.UTF_8);
    if (utf8) {
      Files.writeString(home.resolve("repo/d\u00e9j\u00e0-vu"), "a name beyond ASCII");
    }
    Files.setPosixFilePermissions(home.resolve("repo/HEAD"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    // Change times within the last second are too recent for a digest to vouch for.
    Thread.sleep(1_100);
    Path barrier = Files.createDirectories(tmp.resolve("barrier"));
    HomeChangeTracker tracker = HomeChangeTracker.start(home, d -> false, barrier, true).tracker().orElseThrow();
    try {
      assertThat(tracker.digests().keySet()).containsExactlyInAnyOrder("", "repo", "repo/objects", "repo/objects/ab", "empty");
      for (String dir : tracker.digests().keySet()) {
        assertThat(tracker.digests().get(dir)).as(dir).isEqualTo(javaDigest(home, dir));
      }
      // HEAD and its second name count as files; the symbolic link and the directory do not.
      assertThat(tracker.digests().get("repo").files()).isEqualTo(utf8 ? 3 : 2);
      assertThat(tracker.digests().get("repo/objects/ab").bytes()).isEqualTo(4096);
    } finally {
      tracker.close();
    }
  }

  private static dev.snapstash.core.home.HomeIndex.Dir javaDigest(Path home, String relative) throws Exception {
    String stat = "unix:mode,nlink,ino,uid,gid,size,lastModifiedTime,ctime";
    java.nio.file.LinkOption nofollow = java.nio.file.LinkOption.NOFOLLOW_LINKS;
    Path dir = relative.isEmpty() ? home : home.resolve(relative);
    java.util.TreeMap<String, java.util.Map<String, Object>> entries = new java.util.TreeMap<>();
    try (var listing = Files.newDirectoryStream(dir)) {
      for (Path e : listing) {
        entries.put(e.getFileName().toString(), Files.readAttributes(e, stat, nofollow));
      }
    }
    StringBuilder sb = new StringBuilder();
    javaLine(sb, ".", Files.readAttributes(dir, stat, nofollow));
    long files = 0;
    long bytes = 0;
    for (var e : entries.entrySet()) {
      javaLine(sb, e.getKey(), e.getValue());
      if (((Integer) e.getValue().get("mode") & 0170000) == 0100000) {
        files++;
        bytes += (Long) e.getValue().get("size");
      }
    }
    String hex = dev.snapstash.core.util.Digests.sha256(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return new dev.snapstash.core.home.HomeIndex.Dir(hex, files, bytes);
  }

  private static void javaLine(StringBuilder sb, String name, java.util.Map<String, Object> a) {
    java.util.concurrent.TimeUnit ns = java.util.concurrent.TimeUnit.NANOSECONDS;
    sb.append(name).append('\0')
        .append(a.get("mode")).append(' ').append(a.get("nlink")).append(' ').append(a.get("ino")).append(' ')
        .append(a.get("uid")).append(' ').append(a.get("gid")).append(' ').append(a.get("size")).append(' ')
        .append(((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).to(ns)).append(' ')
        .append(((java.nio.file.attribute.FileTime) a.get("ctime")).to(ns)).append('\n');
  }
}
