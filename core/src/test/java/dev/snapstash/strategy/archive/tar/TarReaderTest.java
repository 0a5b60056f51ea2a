package dev.snapstash.strategy.archive.tar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.ZstdOutputStream;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.util.Digests;
import dev.snapstash.strategy.archive.Sha256Sums;
import dev.snapstash.strategy.archive.TreeToTar;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reader's checks that the compression and encryption layers cannot make: an archive whose streams are intact
 * but whose members do not match its index (a bug, or a copy assembled by hand) is refused, naming the member, and
 * so is one that escapes its directory or lacks its index.
 */
class TarReaderTest {
  private static final String TAG = "bb-20261207-010000";
  @TempDir Path dir;

  private record Item(String name, String content) {}

  /** A well-formed archive of {@code items}, with {@code index} as its last member, and a true .sha256 beside it. */
  private void archive(List<Item> items, String index) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new ZstdOutputStream(bytes, 3))) {
      for (Item i : items) {
        byte[] b = i.content().getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(i.name());
        e.setSize(b.length);
        tar.putArchiveEntry(e);
        tar.write(b);
        tar.closeArchiveEntry();
      }
      if (index != null) {
        byte[] b = index.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(TAG + "/" + TreeToTar.INDEX);
        e.setSize(b.length);
        tar.putArchiveEntry(e);
        tar.write(b);
        tar.closeArchiveEntry();
      }
    }
    Files.write(dir.resolve(TAG + ".tar.zst"), bytes.toByteArray());
    Files.writeString(dir.resolve(TAG + ".tar.zst.sha256"), Digests.sha256(bytes.toByteArray()) + "  " + TAG + ".tar.zst\n");
  }

  private String readAll() throws Exception {
    ArchiveStrategy s = new TarProvider().create(new TarSettings(dir, 3, 1, List.of(), null), null);
    try (ArchiveStrategy.Reader r = s.open(TAG)) {
      while (r.next() != null) {
        // reading is checking
      }
    }
    return "read";
  }

  @Test
  void aMemberThatDoesNotMatchItsIndexIsNamed() throws Exception {
    archive(List.of(new Item(TAG + "/manifest.json", "{}")),
        Sha256Sums.line(Digests.sha256("{ }".getBytes(StandardCharsets.UTF_8)), "manifest.json"));

    assertThatThrownBy(this::readAll)
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.VERIFICATION);
          assertThat(e.getMessage()).contains("manifest.json does not match its SHA-256");
        });
  }

  @Test
  void aMatchingArchiveReads() throws Exception {
    archive(List.of(new Item(TAG + "/manifest.json", "{}")),
        Sha256Sums.line(Digests.sha256("{}".getBytes(StandardCharsets.UTF_8)), "manifest.json"));
    assertThat(readAll()).isEqualTo("read");
  }

  @Test
  void anIndexListingAFileTheArchiveLacksIsRefused() throws Exception {
    archive(List.of(new Item(TAG + "/manifest.json", "{}")),
        Sha256Sums.line(Digests.sha256("{}".getBytes(StandardCharsets.UTF_8)), "manifest.json")
            + Sha256Sums.line(Digests.sha256(new byte[0]), "database.dump"));
    assertThatThrownBy(this::readAll).hasMessageContaining("its index lists 2 files, and it holds 1");
  }

  @Test
  void aMemberOutsideTheBackupDirectoryIsRefused() throws Exception {
    archive(List.of(new Item(TAG + "/../../etc/cron.d/x", "boom")), "");
    assertThatThrownBy(this::readAll)
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.VERIFICATION));
  }

  @Test
  void anArchiveCutBeforeItsIndexIsRefused() throws Exception {
    archive(List.of(new Item(TAG + "/manifest.json", "{}")), null);
    assertThatThrownBy(this::readAll).hasMessageContaining("without its index");
  }
}
