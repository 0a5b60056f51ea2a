package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archive options of the verbs, run in-process as a user types them: a backup whose copy to one destination
 * fails exits 12 with the backup complete (and, with --json, the manifest beside the error); {@code list --from}
 * and {@code prune --dry-run} show a destination's copies and plan; {@code restore --from} brings a lost backup
 * back. Real rsync, git and tar; the command quiescer runs {@code true}.
 */
class ArchiveCommandsTest {
  @TempDir Path tmp;
  Path home;
  Path offsite;
  Path config;

  @BeforeEach
  void setUp() throws Exception {
    home = tmp.resolve("home");
    offsite = Files.createDirectories(tmp.resolve("offsite"));
    Path repo = home.resolve("shared/data/repositories/1");
    Files.createDirectories(repo.getParent());
    Process git = new ProcessBuilder("git", "init", "-q", "--bare", repo.toString()).inheritIO().start();
    assertThat(git.waitFor()).isZero();
    Files.writeString(home.resolve("shared/bitbucket.properties"), "setup.displayName=test\n");
    config = tmp.resolve("snapstash.yml");
  }

  private void configure(boolean withBrokenDestination) throws Exception {
    Files.writeString(config,
        "instance:\n  name: bb\n  home: " + home + "\n"
            + "backup:\n  root: " + tmp.resolve("backups") + "\n  free-space-margin-mib: 0\n"
            + "quiesce:\n  type: command\n  command:\n    lock: [\"true\"]\n    unlock: [\"true\"]\n"
            + "database:\n  type: none\n"
            + "archive:\n"
            + "  - {name: offsite, type: tar, path: " + offsite + ", keep-last: 1}\n"
            + (withBrokenDestination ? "  - {name: nas, type: tar, path: " + tmp.resolve("not-mounted") + "}\n" : ""));
  }

  private HelpTest.Run run(String... args) {
    return HelpTest.snapstash(Stream.concat(Stream.of("-c", config.toString()), Stream.of(args)).toArray(String[]::new));
  }

  @Test
  void aFailedCopyExits12WithTheBackupComplete() throws Exception {
    configure(true);
    HelpTest.Run check = run("check");
    assertThat(check.exit()).as("a destination's problem does not stop the local backup: " + check.out()).isZero();
    assertThat(check.out())
        .contains("ok    archive offsite: path: " + offsite)
        .contains("WARN  archive nas: path: " + tmp.resolve("not-mounted") + " is not a directory");

    HelpTest.Run r = run("backup");
    assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(12);
    assertThat(r.out()).contains("archive      offsite: " + offsite).contains("archive      nas: FAILED: ");
    assertThat(r.err()).contains("is complete, but 1 of 2 archive copies failed; the first, to nas:");

    HelpTest.Run json = run("--json", "backup");
    JsonOutputTest.assertError(json, "ARCHIVE", 12);
    JsonNode manifest = JsonOutputTest.json(json).path("result");
    assertThat(manifest.path("state").asText()).isEqualTo("COMPLETE");
    assertThat(manifest.path("archives").get(1).path("ok").asBoolean()).isFalse();

    HelpTest.Run list = run("list");
    assertThat(list.exit()).isZero();
    assertThat(list.out().lines().filter(l -> l.contains(" complete "))).hasSize(2);
  }

  @Test
  void listPruneAndRestoreFromADestination() throws Exception {
    configure(false);
    assertThat(run("backup").exit()).isZero();
    Thread.sleep(1100); // one tag per second
    HelpTest.Run second = run("--json", "backup");
    assertThat(second.exit()).as(second.out() + second.err()).isZero();
    String tag = JsonOutputTest.json(second).path("tag").asText();

    HelpTest.Run list = run("list", "--from", "offsite");
    assertThat(list.exit()).as(list.err()).isZero();
    assertThat(list.out()).contains(tag).contains("1 copies in archive offsite (tar)");

    HelpTest.Run prune = run("prune", "--dry-run", "--keep-last", "5");
    assertThat(prune.exit()).as(prune.err()).isZero();
    assertThat(prune.out()).contains("local backups:").contains("archive offsite:").contains("keep    " + tag);

    dev.snapstash.core.util.Trees.deleteRecursively(tmp.resolve("backups").resolve(tag));
    HelpTest.Run restore = run("restore", tag, "--from", "offsite", "--home-target", tmp.resolve("copy").toString());
    assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
    assertThat(restore.err()).contains("fetched " + tag + " from archive offsite");
    assertThat(restore.out()).contains("the restored copy passed every check");
    assertThat(tmp.resolve("copy/shared/bitbucket.properties")).exists();

    HelpTest.Run unknown = run("list", "--from", "tape");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).contains("--from tape names no archive destination; the configured ones are offsite");
  }
}
