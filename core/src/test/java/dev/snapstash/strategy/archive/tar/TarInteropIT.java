package dev.snapstash.strategy.archive.tar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.strategy.archive.ArchiveContract;
import dev.snapstash.strategy.archive.TreeToTar;
import dev.snapstash.testing.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archives read with the real tools, as an administrator would without snapstash: {@code tar --zstd -xf} gives
 * back the same tree (contents, modes, times, hard links, symlinks), {@code sha256sum -c} accepts the checksum
 * beside it and the index inside it, and {@code age -d -i KEY | tar --zstd -x} opens an encrypted one made for a
 * key {@code age-keygen} generated.
 */
class TarInteropIT {
  @TempDir Path tmp;

  @BeforeAll
  static void tools() {
    Tools.require("tar");
    Tools.require("zstd");
    Tools.require("age");
    Tools.require("age-keygen");
    Tools.require("sha256sum");
  }

  /** The contract's sample backup, made under {@code tmp/src}. */
  private ArchiveStrategy.Source sample(String tag) throws IOException {
    Path src = Files.createDirectories(tmp.resolve("src"));
    return new Sample(src).backup(tag);
  }

  @Test
  void gnuTarExtractsTheSameTree() throws Exception {
    ArchiveStrategy.Source source = sample("bb-20261207-010000");
    Path dest = Files.createDirectories(tmp.resolve("dest"));
    ArchiveStrategy.Stored stored =
        new TarProvider().create(new TarSettings(dest, 3, 2, List.of(), null), null).store(source, UndoLog.NONE);

    sh(dest, "sha256sum -c --strict bb-20261207-010000.tar.zst.sha256");
    Path out = Files.createDirectories(tmp.resolve("out"));
    sh(out, "tar --zstd -xpf " + stored.location());
    Path extracted = out.resolve("bb-20261207-010000");
    sh(extracted, "sha256sum -c --strict --quiet " + TreeToTar.INDEX);
    Files.delete(extracted.resolve(TreeToTar.INDEX));
    assertThat(Sample.tree(extracted)).isEqualTo(Sample.tree(source.dir()));
    assertThat(Files.getAttribute(extracted.resolve("home/shared/data/repositories/2/shared.pack"), "unix:nlink"))
        .as("hard links are hard links again").isEqualTo(3);
  }

  @Test
  void ageAndGnuTarOpenAnEncryptedArchive() throws Exception {
    Path key = tmp.resolve("key.txt");
    sh(tmp, "age-keygen -o " + key + " 2>/dev/null");
    String recipient = sh(tmp, "age-keygen -y " + key).strip();
    ArchiveStrategy.Source source = sample("bb-20261207-020000");
    Path dest = Files.createDirectories(tmp.resolve("dest"));
    ArchiveStrategy.Stored stored =
        new TarProvider()
            .create(new TarSettings(dest, 3, 2, List.of(recipient), Secret.ofFile(key)), null)
            .store(source, UndoLog.NONE);

    assertThat(stored.location()).endsWith(".tar.zst.age");
    assertThat(Files.readString(Path.of(stored.location()), StandardCharsets.ISO_8859_1)).startsWith("age-encryption.org/v1");
    sh(dest, "sha256sum -c --strict bb-20261207-020000.tar.zst.age.sha256");
    Path out = Files.createDirectories(tmp.resolve("out"));
    sh(out, "age -d -i " + key + " " + stored.location() + " | tar --zstd -xpf -");
    Path extracted = out.resolve("bb-20261207-020000");
    Files.delete(extracted.resolve(TreeToTar.INDEX));
    assertThat(Sample.tree(extracted)).isEqualTo(Sample.tree(source.dir()));
  }

  private static String sh(Path dir, String script) throws Exception {
    Process p = new ProcessBuilder("bash", "-o", "pipefail", "-c", script).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s:\n%s", script, out).isZero();
    return out;
  }

  /** The contract's sample backup and tree description, outside a contract run. */
  private static final class Sample extends ArchiveContract {
    Sample(Path sources) {
      this.sources = sources;
    }

    ArchiveStrategy.Source backup(String tag) throws IOException {
      return backup(tag, java.time.Instant.parse("2026-12-07T01:00:00Z"), 3);
    }

    static Map<String, String> tree(Path root) throws IOException {
      return describe(root);
    }

    @Override
    protected ArchiveStrategy strategy() {
      throw new UnsupportedOperationException();
    }

    @Override
    protected java.util.Set<String> destinationContents() {
      throw new UnsupportedOperationException();
    }

    @Override
    protected void damage(String tag) {
      throw new UnsupportedOperationException();
    }
  }
}
