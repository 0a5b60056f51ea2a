package dev.snapstash.strategy.disk;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RsyncCommandsTest {
  @Test
  void copyMirrorsWithHardLinksAclsXattrsNumericIdsAndLinkDest() {
    var c =
        RsyncCommands.copy(
            Path.of("/var/bitbucket"), Path.of("/backups/t/home"), Optional.of(Path.of("/backups/p/home")), List.of("/caches/"));
    assertThat(c.argv())
        .containsExactly(
            "rsync", "-aHAX", "--numeric-ids", "--delete", "--modify-window=-1", "--info=progress2", "--no-inc-recursive", "--stats",
            "--link-dest=/backups/p/home", "--exclude=/caches/", "/var/bitbucket/", "/backups/t/home/");
  }

  @Test
  void theTrackedDeltaNamesItsDirectoriesAndSaysHowDeep() {
    var shallow = RsyncCommands.copyListed(Path.of("/h"), Path.of("/b"), Path.of("/w/dirs.list"), false, List.of("/caches/"));
    assertThat(shallow.argv())
        .containsExactly(
            "rsync", "-aHAX", "-d", "--from0", "--files-from=/w/dirs.list", "--ignore-missing-args", "--numeric-ids", "--delete",
            "--modify-window=-1", "--info=progress2", "--no-inc-recursive", "--stats", "--exclude=/caches/", "/h/", "/b/");
    var deep = RsyncCommands.repositoryMetadataListed(Path.of("/h"), Path.of("/b"), Path.of("/w/t.list"), true, List.of());
    assertThat(deep.argv()).contains("-r", "--checksum", "--files-from=/w/t.list").doesNotContain("-d", "--delete");
    // "dir/." makes -d compare the directory's entries; a subtree is named as it is; "" is the home itself.
    assertThat(RsyncCommands.listEntries(List.of("", "a/b"), false)).isEqualTo(".\0a/b/.\0");
    assertThat(RsyncCommands.listEntries(List.of("a/b"), true)).isEqualTo("a/b\0");
  }

  /** Files whose previous copy is damaged: written whatever their size and time, never deleting anything else. */
  @Test
  void copyingAfreshNamesTheFilesAndIgnoresTheirTimes() {
    var c = RsyncCommands.copyAfresh(Path.of("/h"), Path.of("/b"), Path.of("/w/damaged.list"), List.of("/caches/"));
    assertThat(c.argv())
        .containsExactly(
            "rsync", "-aHAX", "--from0", "--files-from=/w/damaged.list", "--ignore-missing-args", "--ignore-times",
            "--numeric-ids", "--stats", "--exclude=/caches/", "/h/", "/b/");
    assertThat(RsyncCommands.listFiles(List.of("a/p.pack", "b"))).isEqualTo("a/p.pack\0b\0");
  }

  @Test
  void repositoryMetadataLivesInRepositoriesOutsideTheirObjectStores() {
    assertThat(RsyncCommands.holdsRepositoryMetadata("shared/data/repositories/1/refs/heads")).isTrue();
    assertThat(RsyncCommands.holdsRepositoryMetadata("data/repositories/7")).isTrue();
    assertThat(RsyncCommands.holdsRepositoryMetadata("shared/data/repositories/1/objects/ab")).isFalse();
    assertThat(RsyncCommands.holdsRepositoryMetadata("shared/config")).isFalse();
    assertThat(RsyncCommands.mayHoldRepositoryMetadata("shared/data")).isTrue();
    assertThat(RsyncCommands.mayHoldRepositoryMetadata("shared/data/repositories/1/objects")).isFalse();
  }

  @Test
  void withoutAPreviousBackupThereIsNoLinkDest() {
    var c = RsyncCommands.copy(Path.of("/h"), Path.of("/b"), Optional.empty(), List.of());
    assertThat(c.argv()).noneMatch(a -> a.startsWith("--link-dest"));
  }

  @Test
  void disposableExcludesFollowTheHomeDirectoryFacts() {
    assertThat(RsyncCommands.DISPOSABLE)
        .contains("/caches/", "/log/", "/tmp/", "/.lock", "/shared/.lock", "/export/", "/shared/export/",
            "/search/data/", "/shared/search/data/", "/plugins/.*/", "objects/incoming-*/");
    assertThat(RsyncCommands.EMBEDDED_DATABASE).contains("/data/db.*", "/shared/data/db.*");
  }

  @Test
  void theMetadataPassChecksumsRepositoryFilesAndPrunesObjects() {
    var c = RsyncCommands.repositoryMetadata(Path.of("/h"), Path.of("/b"), List.of("/caches/"));
    assertThat(c.argv()).contains("--checksum").doesNotContain("--delete");
    // Order matters to rsync: objects/ is pruned before the directory include lets it descend.
    assertThat(c.argv().indexOf("--exclude=objects/")).isLessThan(c.argv().indexOf("--include=*/"));
    assertThat(c.argv().subList(c.argv().size() - 3, c.argv().size())).containsExactly("--exclude=*", "/h/", "/b/");
  }

  @Test
  void restoreReplacesOnlyWhenForced() {
    assertThat(RsyncCommands.restore(Path.of("/b/home"), Path.of("/t"), false).argv()).doesNotContain("--delete");
    assertThat(RsyncCommands.restore(Path.of("/b/home"), Path.of("/t"), true).argv()).contains("--delete");
  }

  @Test
  void restoreIntoAnEmptyTargetIsOneCpThatKeepsEverything() {
    assertThat(RsyncCommands.restoreIntoEmpty(Path.of("/b/home"), Path.of("/t")).argv())
        .containsExactly("cp", "-a", "--reflink=auto", "-T", "/b/home", "/t");
  }

  @Test
  void parsesProgressAndStats() {
    assertThat(RsyncOutput.progress("      1,234,567  45%   10.00MB/s    0:00:01 (xfr#12, to-chk=3/20)"))
        .hasValue(0.45);
    assertThat(RsyncOutput.progress("Number of files: 12")).isEmpty();
    RsyncOutput out = RsyncOutput.empty();
    out.accept("Number of files: 1,204 (reg: 1,000, dir: 204)");
    out.accept("Total file size: 98,765,432 bytes");
    out.accept("Total transferred file size: 1,234 bytes");
    assertThat(out.files).isEqualTo(1204);
    assertThat(out.totalBytes).isEqualTo(98_765_432L);
    assertThat(out.transferredBytes).isEqualTo(1234);
  }
}
