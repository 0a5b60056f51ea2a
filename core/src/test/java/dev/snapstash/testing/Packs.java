package dev.snapstash.testing;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Damage of the kind bit rot does to a repository, for tests of what finds it. */
public final class Packs {
  private Packs() {}

  /**
   * Flips one byte in the middle of a whole (not deltified) blob's compressed data in the repository's first pack:
   * the pack keeps its name, size and place, only that object's content is wrong. {@code git fsck
   * --connectivity-only} does not read blobs and passes; a full {@code git fsck} fails.
   *
   * @return the pack file changed
   */
  public static Path flipAByteInsideABlob(Path gitDir, ProcessRunner runner) throws Exception {
    Path pack;
    try (Stream<Path> s = Files.list(gitDir.resolve("objects/pack"))) {
      pack = s.filter(p -> p.toString().endsWith(".pack")).sorted().findFirst().orElseThrow();
    }
    Path idx = Path.of(pack.toString().replaceFirst("\\.pack$", ".idx"));
    String listing = runner.run(Command.of("git", "verify-pack", "-v", idx.toString()).capturingStdout()).stdout();
    // "<sha> blob <size> <size-in-pack> <offset>": five fields, so no delta base.
    String[] blob =
        listing.lines().map(l -> l.trim().split("\\s+")).filter(f -> f.length == 5 && f[1].equals("blob"))
            .findFirst().orElseThrow(() -> new AssertionError("no whole blob in " + pack));
    long offset = Long.parseLong(blob[4]) + Long.parseLong(blob[3]) / 2;
    pack.toFile().setWritable(true);
    try (RandomAccessFile f = new RandomAccessFile(pack.toFile(), "rw")) {
      f.seek(offset);
      int b = f.read();
      f.seek(offset);
      f.write(b ^ 0x01);
    }
    return pack;
  }
}
