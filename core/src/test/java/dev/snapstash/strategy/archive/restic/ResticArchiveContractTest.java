package dev.snapstash.strategy.archive.restic;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Services;
import dev.snapstash.strategy.archive.ArchiveContract;
import dev.snapstash.testing.Tools;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archive contract for {@code archive[].type: restic}, against a real restic repository on local disk, built
 * by its provider from a configuration file as a run builds it. The destination's contents are every file of the
 * repository but its {@code locks/} (a lock lives only while a restic command runs).
 */
public class ResticArchiveContractTest extends ArchiveContract {
  @TempDir Path work;
  Path repository;
  Path config;

  @BeforeEach
  void repository() throws Exception {
    Path restic = Tools.require("restic");
    repository = work.resolve("repo");
    Path password = Files.writeString(work.resolve("password"), "correct horse battery staple\n");
    Files.createDirectories(work.resolve("home"));
    String yml =
        "instance:\n  name: " + INSTANCE + "\n  home: " + work.resolve("home") + "\n"
            + "backup:\n  root: " + work.resolve("backups") + "\n"
            + "quiesce:\n  type: none\ndisk:\n  type: none\ndatabase:\n  type: none\n"
            + "archive:\n  - name: offsite\n    type: restic\n    repository: " + repository + "\n"
            + "    password: ${file:" + password + "}\n    binary: " + restic + "\n    cache-dir: " + work.resolve("cache") + "\n"
            + "    tags: [bitbucket]\n";
    config = Files.writeString(work.resolve("snapstash.yml"), yml);
    new ProcessRunner().run(Command.of(restic.toString(), "init", "--cache-dir", work.resolve("cache").toString())
        .withEnv("RESTIC_REPOSITORY", repository.toString()).withEnv("RESTIC_PASSWORD_FILE", password.toString()).discardingStdout());
  }

  protected SnapstashConfig loaded() throws Exception {
    return ConfigLoader.load(config, Map.of());
  }

  @Override
  protected ArchiveStrategy strategy() throws Exception {
    SnapstashConfig c = loaded();
    return new ResticProvider().create(
        (ResticSettings) c.archives().get(0).settings(), Services.of(c.instance(), c.backup(), new ProcessRunner()));
  }

  @Override
  protected Set<String> destinationContents() throws Exception {
    try (Stream<Path> files = Files.walk(repository)) {
      return files.filter(Files::isRegularFile).map(p -> repository.relativize(p).toString())
          .filter(n -> !n.startsWith("locks/")).collect(java.util.stream.Collectors.toCollection(TreeSet::new));
    }
  }

  /** Flips a byte in the middle of the largest pack: file data, which restic checks as it reads it. */
  @Override
  protected void damage(String tag) throws Exception {
    Path pack;
    try (Stream<Path> files = Files.walk(repository.resolve("data"))) {
      pack = files.filter(Files::isRegularFile).max(Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
    }
    pack.toFile().setWritable(true);
    try (RandomAccessFile f = new RandomAccessFile(pack.toFile(), "rw")) {
      long at = f.length() / 2;
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0x5a);
    }
  }
}
