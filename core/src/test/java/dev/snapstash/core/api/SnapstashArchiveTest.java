package dev.snapstash.core.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.engine.ArchiveFetch;
import dev.snapstash.core.engine.Archives;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Off-site copies through the facade, from a configuration file as a user writes one: a backup is archived
 * (encrypted to an age key) after the unlock; with the local backup gone, {@code list --from} shows the copy and
 * {@code restore --from} brings it back, checked, into the usual restore; a damaged copy is refused and leaves
 * nothing; {@code prune --dry-run} gives each destination's plan. Real rsync, git, tar and age streams.
 */
class SnapstashArchiveTest {
  static final String RECIPIENT = "age1ug2mvcyw63wagua4njadz4wzcwp4d892psqalr6cuqhfta42vulqpns235";
  static final String IDENTITY = "AGE-SECRET-KEY-1A2UTNUZXN5AS86EYS3MLPAZWCNX9VR0435XH8GYQUGJP5VSGKRRQ0426XK";
  @TempDir Path tmp;
  Path home;
  Path root;
  Path offsite;
  final ProcessRunner runner = new ProcessRunner();

  @BeforeEach
  void home() throws Exception {
    home = tmp.resolve("home");
    root = tmp.resolve("backups");
    offsite = Files.createDirectories(tmp.resolve("offsite"));
    Path repo = home.resolve("shared/data/repositories/1");
    Files.createDirectories(repo.getParent());
    runner.run(Command.of("git", "init", "-q", "--bare", repo.toString()).discardingStdout());
    Files.writeString(home.resolve("shared/bitbucket.properties"), "setup.displayName=test\n");
    Files.writeString(tmp.resolve("age-identity.txt"), IDENTITY + "\n");
  }

  private Snapstash snapstash(int keepLast) throws IOException {
    String yml =
        "instance:\n  name: bb\n  home: " + home + "\n"
            + "backup:\n  root: " + root + "\n  free-space-margin-mib: 0\n"
            + "quiesce:\n  type: command\n  command:\n    lock: [\"true\"]\n    unlock: [\"true\"]\n"
            + "disk:\n  type: rsync\n"
            + "database:\n  type: none\n"
            + "archive:\n"
            + "  - name: offsite\n    type: tar\n    path: " + offsite + "\n    keep-last: " + keepLast + "\n"
            + "    recipients: [" + RECIPIENT + "]\n    identity: ${file:" + tmp.resolve("age-identity.txt") + "}\n";
    Path config = tmp.resolve("snapstash.yml");
    Files.writeString(config, yml);
    return Snapstash.configure(ConfigLoader.load(config, Map.of())).runner(runner).version("test").build();
  }

  @Test
  void aBackupLostLocallyComesBackFromItsOffSiteCopy() throws Exception {
    Snapstash s = snapstash(0);
    Manifest m = s.backup(Progress.NONE);
    assertThat(Snapstash.failure(m)).isEmpty();
    assertThat(m.archives()).singleElement().satisfies(a -> assertThat(a.location()).endsWith(m.tag() + ".tar.zst.age"));

    Trees.deleteRecursively(root.resolve(m.tag()));
    Snapstash.ArchiveListing listing = s.listArchive("offsite");
    assertThat(listing.type()).isEqualTo("tar");
    assertThat(listing.copies()).singleElement().satisfies(c -> {
      assertThat(c.tag()).isEqualTo(m.tag());
      assertThat(c.bytes()).isEqualTo(m.archives().get(0).bytes());
      assertThat(c.startedAt()).isEqualTo(m.startedAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    });

    ArchiveFetch.Fetched fetched = s.fetch("offsite", "latest");
    assertThat(fetched.tag()).isEqualTo(m.tag());
    assertThat(fetched.files()).isPositive();
    Path target = tmp.resolve("restored");
    Snapstash.Restored restored = s.restore(Snapstash.RestoreRequest.into(m.tag(), target), Progress.NONE);
    assertThat(Snapstash.failure(restored)).as(String.valueOf(restored.report().verification())).isEmpty();
    assertThat(target.resolve("shared/data/repositories/1/HEAD")).exists();
    assertThat(s.verify(new Snapstash.VerifyRequest(m.tag(), false, null, false), Progress.NONE).ok()).isTrue();

    assertThatThrownBy(() -> s.fetch("offsite", m.tag()))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION);
          assertThat(e.getMessage()).contains("already under backup.root");
        });
  }

  @Test
  void aDamagedCopyIsRefusedAndLeavesNoBackupBehind() throws Exception {
    Snapstash s = snapstash(0);
    Manifest m = s.backup(Progress.NONE);
    Trees.deleteRecursively(root.resolve(m.tag()));
    try (RandomAccessFile f = new RandomAccessFile(offsite.resolve(m.tag() + ".tar.zst.age").toFile(), "rw")) {
      f.seek(f.length() - 40);
      f.write(0x42);
    }

    assertThatThrownBy(() -> s.fetch("offsite", m.tag()))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.VERIFICATION));
    assertThat(s.list().entries()).isEmpty();
    try (var left = Files.list(root)) {
      assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".fetching"));
    }
    assertThat(Journal.file(root)).doesNotExist();
  }

  @Test
  void pruneGivesEachDestinationsPlanAndAnUnknownDestinationIsNamed() throws Exception {
    Snapstash s = snapstash(0);
    Manifest first = s.backup(Progress.NONE);
    Thread.sleep(1100); // a tag per second
    Manifest second = s.backup(Progress.NONE);
    Snapstash keepOne = snapstash(1);

    List<Archives.PruneResult> plan = keepOne.pruneArchives(true);
    assertThat(plan).singleElement().satisfies(r -> {
      assertThat(r.destination()).isEqualTo("offsite");
      assertThat(r.removed()).containsExactly(first.tag());
      assertThat(r.kept()).containsOnlyKeys(second.tag());
    });
    assertThat(keepOne.listArchive("offsite").copies()).hasSize(2);

    assertThatThrownBy(() -> s.listArchive("elsewhere"))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.USAGE);
          assertThat(e.getMessage()).isEqualTo("--from elsewhere names no archive destination; the configured ones are offsite");
        });
  }
}
