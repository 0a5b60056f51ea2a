package dev.snapstash.core.engine;

import dev.snapstash.core.home.HomeIndex;
import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.util.Digests;
import dev.snapstash.core.util.Trees;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HomeChecksumsTest {
  @TempDir Path tmp;

  @Test
  void listsEveryRegularFileOnceInSha256sumFormatAndReusesHardLinkedDigests() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/shared/a"), "aaa");
    write(first.resolve("home/shared/deep/er/b"), "bb");
    write(first.resolve("home/c"), "c");
    Files.createSymbolicLink(first.resolve("home/shared/link"), Path.of("a"));

    HomeChecksums.Summary one = HomeChecksums.write(first, Optional.empty(), 2);
    assertThat(one).isEqualTo(new HomeChecksums.Summary(3, 6, 6, 3, 0));
    assertThat(Files.readAllLines(first.resolve(HomeChecksums.FILE)))
        .extracting(l -> l.substring(66))
        .containsExactly("./c", "./shared/a", "./shared/deep/er/b");
    // The format is sha256sum's own: it checks the list.
    new ProcessRunner().run(Command.of("sh", "-c", "cd \"$0\"/home && sha256sum --quiet -c ../home.sha256", first.toString()));

    // The next backup: two files hard-linked to the first's (rsync --link-dest), one rewritten, one new.
    Path second = tmp.resolve("b2");
    Files.createDirectories(second.resolve("home/shared/deep/er"));
    Files.createLink(second.resolve("home/shared/a"), first.resolve("home/shared/a"));
    Files.createLink(second.resolve("home/shared/deep/er/b"), first.resolve("home/shared/deep/er/b"));
    write(second.resolve("home/c"), "changed");
    write(second.resolve("home/new"), "new!");

    HomeChecksums.Summary two = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(two.files()).isEqualTo(4);
    assertThat(two.bytes()).isEqualTo(3 + 2 + 7 + 4);
    assertThat(two.hashed()).as("only the rewritten and the new file are read").isEqualTo(2);
    assertThat(two.unsharedBytes()).as("hard-linked files cost nothing").isEqualTo(7 + 4);
    assertThat(HomeChecksums.verify(second, 2).ok()).isTrue();
  }

  /**
   * Beside the list, each file's inode and change time as they were when it was hashed: what the next backup
   * compares, a stat per file, instead of reading the file again. The list itself stays sha256sum's.
   */
  @Test
  void stampsEachFileBesideTheListWhichStaysInSha256sumFormat() throws Exception {
    Path backup = tmp.resolve("b");
    write(backup.resolve("home/a"), "aaa");
    write(backup.resolve("home/new\nline"), "escaped as in the list");
    HomeChecksums.write(backup, Optional.empty(), 2);
    new ProcessRunner().run(Command.of("sh", "-c", "cd \"$0\"/home && sha256sum --quiet --strict -c ../home.sha256", backup.toString()));
    HomeStamps stamps = HomeStamps.read(backup);
    assertThat(stamps.size()).isEqualTo(2);
    assertThat(stamps.of("a")).isEqualTo(HomeStamps.now(backup.resolve("home/a")).orElseThrow());
    assertThat(stamps.of("new\nline")).isEqualTo(HomeStamps.now(backup.resolve("home/new\nline")).orElseThrow());

    // A file changed in any way has another stamp, even with its modification time put back.
    Path a = backup.resolve("home/a");
    var mtime = Files.getLastModifiedTime(a);
    Thread.sleep(20);
    Files.writeString(a, "aab");
    Files.setLastModifiedTime(a, mtime);
    assertThat(HomeStamps.now(a).orElseThrow()).isNotEqualTo(stamps.of("a"));

    // A damaged list is not trusted at all: the next backup reads every file again.
    Path f = backup.resolve(HomeStamps.FILE);
    Files.writeString(f, Files.readString(f).replaceFirst(" ", "x"));
    assertThat(HomeStamps.read(backup).size()).isZero();
  }

  private static void write(Path file, String content) throws Exception {
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
  }

  @Test
  void aNameJavaCannotDecodeIsAClearErrorNotAMissingFile() throws Exception {
    Path backup = tmp.resolve("undecodable");
    Files.createDirectories(backup.resolve("home/refs/heads"));
    // A branch called "café" in Latin-1: not valid UTF-8 (nor ASCII, the JVM's encoding under LANG=C).
    new ProcessRunner()
        .run(Command.of("sh", "-c", "echo x > \"$1/refs/heads/$(printf 'caf\\351')\"", "sh", backup.resolve("home").toString()));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> HomeChecksums.write(backup, Optional.empty(), 2))
        .isInstanceOf(dev.snapstash.core.error.SnapstashException.class)
        .hasMessageContaining("refs/heads/caf")
        .hasMessageContaining("is not valid in the JVM's file-name encoding")
        .hasMessageContaining("LC_ALL=C.UTF-8");
  }

  /**
   * A file name with a newline (legal on Linux, and a home holds whatever users and plugins put there) is written
   * raw into the list: its line splits in two, the list names a file that does not exist, and verifying the
   * untouched backup reports it damaged (a restore refuses it). sha256sum escapes such names with a leading '\'.
   */
  @Test
  void aFileNameWithANewlineStillVerifies() throws Exception {
    Path backup = tmp.resolve("b");
    write(backup.resolve("home/shared/ok"), "fine");
    write(backup.resolve("home/shared/two\nlines"), "content");
    write(backup.resolve("home/shared/back\\slash"), "more");

    HomeChecksums.Summary s = HomeChecksums.write(backup, Optional.empty(), 2);
    assertThat(s.files()).isEqualTo(3);

    HomeChecksums.Check check = HomeChecksums.verify(backup, 2);
    assertThat(check.missing()).as("files of an untouched backup reported missing").isEmpty();
    assertThat(check.files()).isEqualTo(3);
    assertThat(check.ok()).isTrue();
    // Escaped as sha256sum escapes them, so that sha256sum itself still checks the list.
    new ProcessRunner().run(Command.of("sh", "-c", "cd \"$0\"/home && sha256sum --quiet -c ../home.sha256", backup.toString()));
  }

  /**
   * bytes-written is "what this backup added on disk". A new file with two names inside the home (a hard link
   * within the home, which the copy keeps with -H) is stored once, but its link count is 2, so it is counted as
   * shared with the previous backup and the manifest says nothing was written.
   */
  @Test
  void aNewFileHardLinkedWithinTheHomeCountsAsWritten() throws Exception {
    Path backup = tmp.resolve("b");
    write(backup.resolve("home/shared/data/repositories/1/objects/pack/p.pack"), "x".repeat(1000));
    Files.createDirectories(backup.resolve("home/shared/data/repositories/2/objects/pack"));
    Files.createLink(
        backup.resolve("home/shared/data/repositories/2/objects/pack/p.pack"),
        backup.resolve("home/shared/data/repositories/1/objects/pack/p.pack"));

    HomeChecksums.Summary s = HomeChecksums.write(backup, Optional.empty(), 2);
    assertThat(s.unsharedBytes()).as("a first backup: everything is new, 1000 bytes stored once").isEqualTo(1000);
  }

  // Two backups' home indexes written by hand: the second backup's home starts as hard links to the first's (as
  // rsync --link-dest leaves it), its index vouches for every directory of the first but those named as changed.

  /**
   * A directory both indexes vouch for, whose parent the copy no longer has (deleted after the index was taken):
   * the list must not take the vouched directory's files from the previous list, since the copy does not hold them.
   * With both changed, nothing is vouched below the directory the copy lacks: that it lacks it is enough.
   */
  @ParameterizedTest
  @ValueSource(strings = {"shared", "shared/p", "shared,shared/p", "shared/p,shared/p/v"})
  void aVouchedDirectoryWhoseParentTheCopyLacksMakesEveryFileBeChecksummed(String changed) throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/shared/p/v/f"), "in v");
    write(first.resolve("home/shared/x"), "x");
    Path second = nextBackup(first);
    Trees.deleteRecursively(second.resolve("home/shared/p"));
    index(second, first, changed.split(","));

    HomeChecksums.Summary sums = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(list(second)).containsExactly("./shared/x");
    assertThat(sums.vouched()).as("the indexes are not trusted").isZero();
    assertSameAsWithoutIndexes(second, first, sums);
  }

  /** A directory made after the index was taken, below one that changed: it and all below it are listed. */
  @Test
  void aNewDirectoryBelowAChangedOneIsListedWhole() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/shared/n/g"), "g");
    write(first.resolve("home/shared/v/f"), "f");
    Path second = nextBackup(first);
    write(second.resolve("home/shared/n/new/deeper/f2"), "new, deeper");
    write(second.resolve("home/shared/n/new/f3"), "new");
    index(second, first, "shared/n");

    HomeChecksums.Summary sums = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(list(second)).contains("./shared/n/new/deeper/f2", "./shared/n/new/f3", "./shared/n/g", "./shared/v/f");
    assertThat(sums.vouched()).as("shared/v/f").isEqualTo(1);
    assertThat(sums.hashed()).as("the two new files").isEqualTo(2);
    assertSameAsWithoutIndexes(second, first, sums);
  }

  /** A vouched directory below a changed one: the changed one is listed, the vouched one's files are not looked at. */
  @Test
  void aVouchedDirectoryBelowAChangedOneTakesItsDigestsFromThePreviousList() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/shared/n/g"), "g");
    write(first.resolve("home/shared/n/w/h"), "h");
    write(first.resolve("home/shared/n/w/h2"), "h2");
    Path second = nextBackup(first);
    rewrite(second.resolve("home/shared/n/g"), "g, rewritten");
    index(second, first, "shared/n");

    HomeChecksums.Summary sums = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(sums.vouched()).as("shared/n/w's two files").isEqualTo(2);
    assertThat(sums.hashed()).as("the rewritten file").isEqualTo(1);
    assertSameAsWithoutIndexes(second, first, sums);
  }

  /**
   * The same, but the copy has a symbolic link where the vouched directory was: listing the changed parent shows
   * no directory there, so the vouched one is not in the copy and its files must not be listed.
   */
  @Test
  void aVouchedDirectoryThatIsASymbolicLinkInTheCopyIsNotTrusted() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/shared/n/g"), "g");
    write(first.resolve("home/shared/n/w/h"), "h");
    Path second = nextBackup(first);
    write(tmp.resolve("elsewhere/h"), "h");
    Trees.deleteRecursively(second.resolve("home/shared/n/w"));
    Files.createSymbolicLink(second.resolve("home/shared/n/w"), tmp.resolve("elsewhere"));
    index(second, first, "shared/n");

    HomeChecksums.Summary sums = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(list(second)).containsExactly("./shared/n/g");
    assertThat(sums.vouched()).isZero();
    assertSameAsWithoutIndexes(second, first, sums);
  }

  /**
   * Changed directories below a symbolic link to a directory outside the home: a walk from the top never follows
   * the link, so their files are not the copy's, even though the index names them as directories.
   */
  @Test
  void changedDirectoriesBelowASymbolicLinkAreNotListed() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/shared/s/d/f"), "f");
    write(first.resolve("home/shared/v/f"), "f");
    Path second = nextBackup(first);
    write(tmp.resolve("elsewhere/d/f"), "not the copy's");
    Trees.deleteRecursively(second.resolve("home/shared/s"));
    Files.createSymbolicLink(second.resolve("home/shared/s"), tmp.resolve("elsewhere"));
    index(second, first, "shared", "shared/s", "shared/s/d");

    HomeChecksums.Summary sums = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(list(second)).containsExactly("./shared/v/f");
    assertThat(sums.vouched()).isEqualTo(1);
    assertSameAsWithoutIndexes(second, first, sums);
  }

  /**
   * The previous list has a file where both indexes have a directory (they cannot both be right): the vouched
   * parent's file is not carried over beside the directory's files, and the indexes are not trusted.
   */
  @Test
  void aFileWhereTheIndexesHaveADirectoryMakesEveryFileBeChecksummed() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/shared/d/x"), "a file");
    write(first.resolve("home/shared/v/f"), "f");
    Path second = nextBackup(first);
    Files.delete(second.resolve("home/shared/d/x"));
    write(second.resolve("home/shared/d/x/y"), "a directory");
    Map<String, HomeIndex.Dir> dirs = indexOf(first.resolve("home"));
    dirs.put("shared/d/x", new HomeIndex.Dir("d".repeat(64), 1, 11));
    HomeIndex.write(first, "", dirs, Set.of(), Set.of());
    HomeIndex.write(second, "", dirs, Set.of(), Set.of());

    HomeChecksums.Summary sums = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(list(second)).containsExactly("./shared/d/x/y", "./shared/v/f");
    assertThat(sums.vouched()).isZero();
    assertSameAsWithoutIndexes(second, first, sums);
  }

  /**
   * A previous list naming a path no walk gives (damaged, or edited by hand): its line would be carried over as it
   * is, naming no file of the copy.
   */
  @Test
  void aPreviousListNamingAPathNoWalkGivesIsNotTrusted() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/shared/v/f"), "f");
    write(first.resolve("home/shared/w/g"), "g");
    Path second = nextBackup(first);
    index(second, first);
    Path list = first.resolve(HomeChecksums.FILE);
    Files.writeString(list, Files.readString(list).replace("./shared/v/f", "./shared/v/.."));

    HomeChecksums.Summary sums = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(list(second)).containsExactly("./shared/v/f", "./shared/w/g");
    assertThat(sums.vouched()).isZero();
    assertSameAsWithoutIndexes(second, first, sums);
  }

  /**
   * A previous list not as {@code write} puts it (edited by hand, say): out of order, with carriage returns, a line
   * that is none, and a file listed twice. It reads as a line reader reads it, the last digest of a file counting.
   */
  @Test
  void aPreviousListOutOfOrderIsReadAsALineReaderReadsIt() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/shared/v/f"), "f");
    write(first.resolve("home/shared/v/g"), "g");
    write(first.resolve("home/shared/w/h"), "h");
    Path second = nextBackup(first);
    index(second, first);
    Path list = first.resolve(HomeChecksums.FILE);
    java.util.List<String> lines = new java.util.ArrayList<>(Files.readAllLines(list));
    java.util.Collections.reverse(lines);
    String g = lines.stream().filter(l -> l.endsWith("./shared/v/g")).findFirst().orElseThrow();
    lines.add(0, "0".repeat(64) + g.substring(64));
    lines.add(1, "not a line of the list");
    Files.writeString(list, String.join("\r\n", lines) + "\r\n");

    HomeChecksums.Summary sums = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(sums.vouched()).isEqualTo(3);
    assertSameAsWithoutIndexes(second, first, sums);
  }

  /** A name Java cannot decode in a changed directory: the same clear error as without the indexes. */
  @Test
  void aNameJavaCannotDecodeInAChangedDirectoryIsTheSameClearError() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/refs/heads/main"), "main");
    write(first.resolve("home/shared/v/f"), "f");
    Path second = nextBackup(first);
    new ProcessRunner()
        .run(Command.of("sh", "-c", "echo x > \"$1/refs/heads/$(printf 'caf\\351')\"", "sh", second.resolve("home").toString()));
    index(second, first, "refs/heads");

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> HomeChecksums.write(second, Optional.of(first), 2))
        .isInstanceOf(dev.snapstash.core.error.SnapstashException.class)
        .hasMessageContaining("refs/heads/caf")
        .hasMessageContaining("is not valid in the JVM's file-name encoding");
  }

  /**
   * Every kind of directory at once (vouched, changed, vouched below changed and the other way round, new, gone)
   * and names that need escaping: the list is byte for byte the one a pass without the indexes writes.
   */
  @Test
  void theListIsByteForByteTheOneAPassWithoutTheIndexesWrites() throws Exception {
    Path first = tmp.resolve("b1");
    write(first.resolve("home/top"), "top");
    write(first.resolve("home/shared/bitbucket.properties"), "a=b");
    write(first.resolve("home/shared/v/two\nlines"), "escaped name, vouched");
    write(first.resolve("home/shared/v/back\\slash"), "escaped name, vouched");
    write(first.resolve("home/shared/v/a-b"), "sorts between v/a and v/a/...");
    write(first.resolve("home/shared/v/a/f"), "vouched below vouched");
    write(first.resolve("home/shared/v/n/f"), "changed below vouched");
    write(first.resolve("home/shared/v/n/w/f"), "vouched below changed");
    write(first.resolve("home/shared/v/n/w-x"), "gone");
    write(first.resolve("home/shared/gone/f"), "deleted with its directory");
    Files.createSymbolicLink(first.resolve("home/shared/v/link"), Path.of("a-b"));
    Path second = nextBackup(first);
    rewrite(second.resolve("home/shared/v/n/f"), "changed");
    Files.delete(second.resolve("home/shared/v/n/w-x"));
    write(second.resolve("home/shared/v/n/two\nnew\\lines"), "new, escaped name");
    write(second.resolve("home/shared/v/n/w0/new"), "new directory");
    Files.createLink(second.resolve("home/shared/v/n/again"), second.resolve("home/shared/v/n/f"));
    Trees.deleteRecursively(second.resolve("home/shared/gone"));
    // The index of a backup taken after shared/gone went: it does not name it.
    Map<String, HomeIndex.Dir> dirs = indexOf(first.resolve("home"));
    dirs.put("shared", changed(dirs.get("shared")));
    dirs.put("shared/v/n", changed(dirs.get("shared/v/n")));
    dirs.remove("shared/gone");
    HomeIndex.write(second, "", dirs, Set.of(), Set.of());

    HomeChecksums.Summary sums = HomeChecksums.write(second, Optional.of(first), 2);
    assertThat(sums.vouched()).as("the files of /, shared/v, shared/v/a and shared/v/n/w").isEqualTo(6);
    assertThat(sums.hashed()).as("the rewritten file under its two names, and the two new ones").isEqualTo(4);
    assertSameAsWithoutIndexes(second, first, sums);
    new ProcessRunner().run(Command.of("sh", "-c", "cd \"$0\"/home && sha256sum --quiet -c ../home.sha256", second.toString()));
  }

  /** A backup after {@code first}, whose home is hard-linked to {@code first}'s, and {@code first}'s list. */
  private static Path nextBackup(Path first) throws Exception {
    HomeChecksums.write(first, Optional.empty(), 2);
    HomeIndex.write(first, "", indexOf(first.resolve("home")), Set.of(), Set.of());
    Path second = first.resolveSibling(first.getFileName() + "-next");
    Files.createDirectories(second);
    new ProcessRunner().run(Command.of("cp", "-al", first.resolve("home").toString(), second.resolve("home").toString()));
    return second;
  }

  /** {@code second}'s index: {@code first}'s, with the {@code changed} directories' digests changed. */
  private static void index(Path second, Path first, String... changed) throws Exception {
    Map<String, HomeIndex.Dir> dirs = indexOf(first.resolve("home"));
    for (String dir : changed) {
      dirs.put(dir, changed(dirs.get(dir)));
    }
    HomeIndex.write(second, "", dirs, Set.of(), Set.of());
  }

  private static HomeIndex.Dir changed(HomeIndex.Dir d) {
    return new HomeIndex.Dir("c".repeat(64), d.files(), d.bytes());
  }

  /** Every directory of {@code home} with the number and size of its regular files, as the change tracker counts. */
  private static Map<String, HomeIndex.Dir> indexOf(Path home) throws Exception {
    Map<String, HomeIndex.Dir> out = new TreeMap<>();
    try (Stream<Path> all = Files.walk(home)) {
      for (Path dir : all.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
        long files = 0;
        long bytes = 0;
        try (Stream<Path> entries = Files.list(dir)) {
          for (Path e : entries.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
            files++;
            bytes += Files.size(e);
          }
        }
        String rel = home.relativize(dir).toString();
        out.put(rel, new HomeIndex.Dir(Digests.sha256(rel.getBytes(StandardCharsets.UTF_8)), files, bytes));
      }
    }
    return out;
  }

  /** A file's new content in a copy whose files are hard links: a new inode, as rsync writes it. */
  private static void rewrite(Path file, String content) throws Exception {
    Files.delete(file);
    Files.writeString(file, content);
  }

  private static java.util.List<String> list(Path backup) throws Exception {
    return Files.readAllLines(backup.resolve(HomeChecksums.FILE)).stream().map(l -> l.substring(l.indexOf("  ") + 2)).toList();
  }

  /**
   * The same bytes, and the same home size, count and space written, as a pass without the indexes; and every
   * digest the copy's (that pass too takes hard-linked files' digests from the previous list).
   */
  private static void assertSameAsWithoutIndexes(Path second, Path first, HomeChecksums.Summary sums) throws Exception {
    String written = Files.readString(second.resolve(HomeChecksums.FILE));
    Files.move(second.resolve(HomeIndex.FILE), second.resolve("index.aside"));
    HomeChecksums.Summary full = HomeChecksums.write(second, Optional.of(first), 2);
    Files.move(second.resolve("index.aside"), second.resolve(HomeIndex.FILE));
    assertThat(Files.readString(second.resolve(HomeChecksums.FILE))).isEqualTo(written);
    assertThat(new long[] {sums.files(), sums.bytes(), sums.unsharedBytes()})
        .as("files, bytes, unshared bytes")
        .containsExactly(full.files(), full.bytes(), full.unsharedBytes());
    assertThat(full.vouched()).isZero();
    assertThat(HomeChecksums.verify(second, 2).ok()).as("every digest read again").isTrue();
  }
}
