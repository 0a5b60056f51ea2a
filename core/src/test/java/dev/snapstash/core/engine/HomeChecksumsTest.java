package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
}
