package dev.snapstash.strategy.archive.tar;

import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Services;
import dev.snapstash.strategy.archive.ArchiveContract;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.io.TempDir;

/** The archive contract for {@code archive[].type: tar}, unencrypted, built by its provider. */
public class TarArchiveContractTest extends ArchiveContract {
  @TempDir Path destination;

  protected TarSettings settings() {
    return new TarSettings(destination, 3, 2, List.of(), null);
  }

  @Override
  protected ArchiveStrategy strategy() {
    return new TarProvider().create(settings(), (Services) null);
  }

  @Override
  protected Set<String> destinationContents() throws Exception {
    return new TreeSet<>(names(destination));
  }

  @Override
  protected void damage(String tag) throws Exception {
    Path file;
    try (var s = Files.list(destination)) {
      file = s.filter(p -> p.getFileName().toString().startsWith(tag) && !p.toString().endsWith(".sha256")).findFirst().orElseThrow();
    }
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      long at = f.length() / 2;
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0x5a);
    }
  }
}
