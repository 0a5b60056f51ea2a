package dev.snapstash.strategy.archive.restic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.engine.ArchiveFetch;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.Trees;
import dev.snapstash.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code restore --from} a restic repository through the facade, from a configuration file as a user writes one:
 * a backup is copied to restic after the unlock; with the local backup gone, {@code list --from} shows it and the
 * copy streams back, checked, into the usual restore. Real rsync, git and restic.
 */
class ResticRestoreFromTest {
  @TempDir Path tmp;
  final ProcessRunner runner = new ProcessRunner();

  @Test
  void aBackupLostLocallyComesBackFromItsResticCopy() throws Exception {
    Path restic = Tools.require("restic");
    Path home = tmp.resolve("home");
    Path root = tmp.resolve("backups");
    Path repository = tmp.resolve("restic-repo");
    Path git = home.resolve("shared/data/repositories/1");
    Files.createDirectories(git.getParent());
    runner.run(Command.of("git", "init", "-q", "--bare", git.toString()).discardingStdout());
    Files.writeString(home.resolve("shared/bitbucket.properties"), "setup.displayName=test\n");
    Path password = Files.writeString(tmp.resolve("restic-password"), "a long passphrase\n");
    String yml =
        "instance:\n  name: bb\n  home: " + home + "\n"
            + "backup:\n  root: " + root + "\n  free-space-margin-mib: 0\n"
            + "quiesce:\n  type: command\n  command:\n    lock: [\"true\"]\n    unlock: [\"true\"]\n"
            + "disk:\n  type: rsync\n"
            + "database:\n  type: none\n"
            + "archive:\n"
            + "  - name: offsite\n    type: restic\n    repository: " + repository + "\n"
            + "    password: ${file:" + password + "}\n    binary: " + restic + "\n    init: true\n"
            + "    cache-dir: " + tmp.resolve("cache") + "\n";
    Snapstash s = Snapstash.configure(ConfigLoader.load(Files.writeString(tmp.resolve("snapstash.yml"), yml), Map.of()))
        .runner(runner).version("test").build();

    Manifest m = s.backup(Progress.NONE);
    assertThat(Snapstash.failure(m)).isEmpty();
    assertThat(m.archives()).singleElement().satisfies(a -> assertThat(a.location()).startsWith(repository + " snapshot "));

    Trees.deleteRecursively(root.resolve(m.tag()));
    Snapstash.ArchiveListing listing = s.listArchive("offsite");
    assertThat(listing.type()).isEqualTo("restic");
    assertThat(listing.copies()).singleElement().satisfies(c -> {
      assertThat(c.tag()).isEqualTo(m.tag());
      assertThat(c.bytes()).isEqualTo(m.archives().get(0).bytes()).isPositive();
    });

    ArchiveFetch.Fetched fetched = s.fetch("offsite", "latest");
    assertThat(fetched.tag()).isEqualTo(m.tag());
    assertThat(fetched.files()).isPositive();
    Path target = tmp.resolve("restored");
    Snapstash.Restored restored = s.restore(Snapstash.RestoreRequest.into(m.tag(), target), Progress.NONE);
    assertThat(Snapstash.failure(restored)).as(String.valueOf(restored.report().verification())).isEmpty();
    assertThat(target.resolve("shared/data/repositories/1/HEAD")).exists();
    assertThat(s.verify(new Snapstash.VerifyRequest(m.tag(), false, null, false), Progress.NONE).ok()).isTrue();
  }
}
