package dev.snapstash.aws;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.aws.testing.S3Server;
import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.engine.ArchiveFetch;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Off-site to a bucket, through the facade, from a configuration file as a user writes one: a backup is uploaded
 * after the unlock; with the local backup gone, {@code list --from} shows the object and {@code restore --from}
 * brings it back, checked, into the usual restore. The s3 provider is found by the ServiceLoader from this module's
 * jar, as the CLI's shaded jar finds it. Real rsync and git, and a real S3 API server on loopback.
 */
class SnapstashS3Test {
  @TempDir Path tmp;
  Path home;
  Path root;
  S3Server server;
  final ProcessRunner runner = new ProcessRunner();

  @BeforeEach
  void setUp() throws Exception {
    home = tmp.resolve("home");
    root = tmp.resolve("backups");
    Path repo = home.resolve("shared/data/repositories/1");
    Files.createDirectories(repo.getParent());
    runner.run(Command.of("git", "init", "-q", "--bare", repo.toString()).discardingStdout());
    Files.writeString(home.resolve("shared/bitbucket.properties"), "setup.displayName=test\n");
    Files.writeString(tmp.resolve("s3-id"), S3Server.ACCESS_KEY + "\n");
    Files.writeString(tmp.resolve("s3-secret"), S3Server.SECRET_KEY + "\n");
    server = S3Server.start(Files.createDirectories(tmp.resolve("store")));
    server.bucket("backups");
  }

  @AfterEach
  void tearDown() throws Exception {
    server.close();
  }

  private Snapstash snapstash() throws IOException {
    String yml =
        "instance:\n  name: bb\n  home: " + home + "\n"
            + "backup:\n  root: " + root + "\n  free-space-margin-mib: 0\n"
            + "quiesce:\n  type: command\n  command:\n    lock: [\"true\"]\n    unlock: [\"true\"]\n"
            + "disk:\n  type: rsync\n"
            + "database:\n  type: none\n"
            + "archive:\n"
            + "  - name: bucket\n    type: s3\n    bucket: backups\n    prefix: bitbucket/\n"
            + "    endpoint: " + server.endpoint() + "\n    path-style: true\n    region: eu-west-1\n    part-checksums: false\n"
            + "    access-key-id: ${file:" + tmp.resolve("s3-id") + "}\n"
            + "    secret-access-key: ${file:" + tmp.resolve("s3-secret") + "}\n";
    Path config = tmp.resolve("snapstash.yml");
    Files.writeString(config, yml);
    return Snapstash.configure(ConfigLoader.load(config, Map.of())).runner(runner).version("test").build();
  }

  @Test
  void aBackupLostLocallyComesBackFromTheBucket() throws Exception {
    Snapstash s = snapstash();
    Manifest m = s.backup(Progress.NONE);
    assertThat(Snapstash.failure(m)).isEmpty();
    assertThat(m.archives()).singleElement().satisfies(a -> assertThat(a.location()).contains("s3://backups/bitbucket/" + m.tag() + ".tar.zst"));

    Trees.deleteRecursively(root.resolve(m.tag()));
    Snapstash.ArchiveListing listing = s.listArchive("bucket");
    assertThat(listing.type()).isEqualTo("s3");
    assertThat(listing.copies()).singleElement().satisfies(c -> {
      assertThat(c.tag()).isEqualTo(m.tag());
      assertThat(c.bytes()).isEqualTo(m.archives().get(0).bytes());
    });

    ArchiveFetch.Fetched fetched = s.fetch("bucket", "latest");
    assertThat(fetched.tag()).isEqualTo(m.tag());
    Path target = tmp.resolve("restored");
    Snapstash.Restored restored = s.restore(Snapstash.RestoreRequest.into(m.tag(), target), Progress.NONE);
    assertThat(Snapstash.failure(restored)).as(String.valueOf(restored.report().verification())).isEmpty();
    assertThat(target.resolve("shared/data/repositories/1/HEAD")).exists();
    assertThat(target.resolve("shared/bitbucket.properties")).exists();
  }
}
