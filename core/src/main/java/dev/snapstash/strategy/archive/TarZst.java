package dev.snapstash.strategy.archive;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.snapstash.core.spi.ArchiveStrategy;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * The {@code .tar.zst} stream every file-like archive strategy stores (the {@code tar} strategy's file, the {@code
 * s3} strategy's object), so that a copy made by one reads like a copy made by the other and {@code tar --zstd -x}
 * reads both: a pax tar of the backup under {@code <tag>/} ({@link TreeToTar}), zstd-compressed with a frame checksum.
 */
public final class TarZst {
  private TarZst() {}

  /**
   * Writes the backup directory into {@code sink} as it walks it and finishes the zstd frame; {@code sink} is not
   * closed, so the caller can still encrypt, digest or upload what is left in its own buffers.
   *
   * @param workers zstd threads; 0 uses every processor
   * @return how many members were written
   */
  public static long write(OutputStream sink, String tag, Path dir, int level, int workers) throws IOException {
    ZstdOutputStream zstd = new ZstdOutputStream(new Unclosed(sink), level);
    zstd.setWorkers(workers == 0 ? Runtime.getRuntime().availableProcessors() : workers);
    zstd.setChecksum(true);
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(zstd)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      tar.setAddPaxHeadersForNonAsciiNames(true);
      long members = new TreeToTar(tar, tag).write(dir);
      tar.finish();
      return members;
    }
  }

  /**
   * A reader of an unencrypted copy: every member's SHA-256 is checked against the index, and the SHA-256 of all the
   * stored bytes against {@code expectedSha} once the end is reached. Closing it closes {@code stored}.
   */
  public static ArchiveStrategy.Reader read(String tag, InputStream stored, String expectedSha) throws IOException {
    DigestInputStream raw = new DigestInputStream(new BufferedInputStream(stored, 1 << 16), sha256());
    return new TarReader(tag, raw, new BufferedInputStream(new ZstdInputStream(raw), 1 << 16), expectedSha);
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Closing the tar stream flushes the zstd frame into the sink, which its owner closes. */
  private static final class Unclosed extends java.io.FilterOutputStream {
    Unclosed(OutputStream out) {
      super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      out.flush();
    }
  }
}
