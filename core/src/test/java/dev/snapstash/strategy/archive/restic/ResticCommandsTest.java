package dev.snapstash.strategy.archive.restic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.Command;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The argv and environment of every restic command: the repository and the password file never in the argv. */
class ResticCommandsTest {
  static final ResticCommands.Target TARGET =
      new ResticCommands.Target("/usr/bin/restic", "rest:https://u:secret@host/repo", Path.of("/var/cache/snapstash-restic"));
  static final Path PW = Path.of("/backups/.snapstash-private/restic-pid1-1/password");

  @Test
  void backupTagsTheSnapshotAndNamesTheIndexFirst() {
    Command c = ResticCommands.backup(
        TARGET, PW, Path.of("/backups/.snapstash-private/restic-pid1-1"), ".snapstash-restic",
        Path.of("/backups/bb-20261207-010000"), "bb-20261207-010000", "bb", List.of("bitbucket", "snapstash-bytes=42"));

    assertThat(c.argv()).containsExactly(
        "/usr/bin/restic", "backup", "--json", "--tag", "snapstash", "--tag", "bb-20261207-010000", "--tag", "bitbucket",
        "--tag", "snapstash-bytes=42", "--host", "bb", ".snapstash-restic", "/backups/bb-20261207-010000",
        "--cache-dir", "/var/cache/snapstash-restic");
    assertThat(c.directory()).isEqualTo(Path.of("/backups/.snapstash-private/restic-pid1-1"));
    assertThat(c.environment())
        .containsEntry("RESTIC_REPOSITORY", "rest:https://u:secret@host/repo")
        .containsEntry("RESTIC_PASSWORD_FILE", PW.toString())
        .containsEntry("RESTIC_PASSWORD", "")
        .containsEntry("RESTIC_PASSWORD_COMMAND", "")
        .containsEntry("RESTIC_REPOSITORY_FILE", "");
    assertThat(String.join(" ", c.argv())).doesNotContain("secret").doesNotContain("password");
  }

  @Test
  void snapshotsFilterOnSnapstashsTagTheBackupsAndTheHost() {
    assertThat(ResticCommands.snapshots(TARGET, PW, "bb", null).argv())
        .containsExactly("/usr/bin/restic", "snapshots", "--json", "--tag", "snapstash", "--host", "bb", "--cache-dir", "/var/cache/snapstash-restic");
    Command one = ResticCommands.snapshots(TARGET, PW, "bb", "bb-20261207-010000");
    assertThat(one.argv()).containsSequence("--tag", "snapstash,bb-20261207-010000");
    assertThat(one.stdout()).isEqualTo(Command.Output.CAPTURE);
  }

  @Test
  void forgetDumpAndTheRest() {
    ResticCommands.Target noCache = new ResticCommands.Target("restic", "/srv/restic", null);
    assertThat(ResticCommands.forget(noCache, PW, List.of("abc", "def"), true).argv())
        .containsExactly("restic", "forget", "--prune", "abc", "def");
    assertThat(ResticCommands.forget(noCache, PW, List.of("abc"), false).argv()).containsExactly("restic", "forget", "abc");
    assertThat(ResticCommands.dump(noCache, PW, "abc").argv()).containsExactly("restic", "dump", "abc", "/");
    assertThat(ResticCommands.prune(noCache, PW).argv()).containsExactly("restic", "prune");
    assertThat(ResticCommands.unlock(noCache, PW).argv()).containsExactly("restic", "unlock");
    assertThat(ResticCommands.init(noCache, PW).argv()).containsExactly("restic", "init");
    assertThat(ResticCommands.catConfig(noCache, PW).argv()).containsExactly("restic", "cat", "config");
  }

  @Test
  void onlyALocalRepositoryHasItsTemporaryPacksSwept() {
    assertThat(ForgetPartialSnapshot.localPath("/srv/restic")).isEqualTo(Path.of("/srv/restic"));
    assertThat(ForgetPartialSnapshot.localPath("local:/srv/restic")).isEqualTo(Path.of("/srv/restic"));
    assertThat(ForgetPartialSnapshot.localPath("s3:https://s3.example.com/bucket")).isNull();
    assertThat(ForgetPartialSnapshot.localPath("sftp:user@host:/srv/restic")).isNull();
  }
}
