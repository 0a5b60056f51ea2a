package dev.snapstash.strategy.archive;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveStrategy.Member;
import dev.snapstash.core.spi.ArchiveStrategy.Reader;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads an archive {@link TreeToTar} wrote, checking as it goes: each file's SHA-256 against the index (the last
 * member), and the SHA-256 of the stored bytes against the {@code .sha256} file beside them, once the end is
 * reached. Any difference, a member outside {@code <tag>/}, or a missing index is VERIFICATION.
 */
public final class TarReader implements Reader {
  private final String tag;
  private final String prefix;
  private final DigestInputStream raw;
  private final InputStream decoded;
  private final TarArchiveInputStream tar;
  private final String expectedArchiveSha;
  private final Map<String, String> computed = new LinkedHashMap<>();
  private final MessageDigest fileSha;
  private InputStream content;
  private String contentPath;
  private boolean ended;

  /**
   * @param raw the stored bytes, digested as they are read
   * @param decoded those bytes decrypted and decompressed: the tar stream
   * @param expectedArchiveSha the hex digest the {@code .sha256} file gives
   */
  public TarReader(String tag, DigestInputStream raw, InputStream decoded, String expectedArchiveSha) {
    this.tag = tag;
    this.prefix = tag + "/";
    this.raw = raw;
    this.decoded = new Undecodable(decoded);
    this.tar = new TarArchiveInputStream(this.decoded);
    this.expectedArchiveSha = expectedArchiveSha;
    try {
      this.fileSha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public Member next() throws IOException {
    if (ended) {
      return null;
    }
    finishContent();
    while (true) {
      TarArchiveEntry e = tar.getNextEntry();
      if (e == null) {
        throw damaged("it ends without its index " + TreeToTar.INDEX + " (cut short?)");
      }
      String name = e.getName();
      if (name.equals(prefix)) {
        continue; // the backup directory itself: the restore makes it with the store's modes
      }
      if (!name.startsWith(prefix)) {
        throw damaged("it holds " + name + ", outside " + prefix);
      }
      String path = strip(name.substring(prefix.length()));
      if (path.equals(TreeToTar.INDEX)) {
        checkIndex(new String(tar.readAllBytes(), StandardCharsets.UTF_8));
        checkEnd();
        ended = true;
        return null;
      }
      Member.Type type;
      String link = null;
      if (e.isDirectory()) {
        type = Member.Type.DIRECTORY;
      } else if (e.isSymbolicLink()) {
        type = Member.Type.SYMLINK;
        link = e.getLinkName();
      } else if (e.isLink()) {
        type = Member.Type.HARDLINK;
        if (!e.getLinkName().startsWith(prefix)) {
          throw damaged("its hard link " + name + " points outside " + prefix);
        }
        link = strip(e.getLinkName().substring(prefix.length()));
      } else if (e.isFile()) {
        type = Member.Type.FILE;
        fileSha.reset();
        contentPath = path;
        content = new FilterInputStream(new DigestInputStream(tar, fileSha)) {
          @Override
          public void close() {
            // the tar stream stays open for the next member
          }
        };
      } else {
        throw damaged("its member " + name + " is of a kind snapstash never writes");
      }
      return new Member(
          path, type, e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(), e.getLastModifiedTime().toInstant(),
          e.getSize(), link);
    }
  }

  @Override
  public InputStream content() {
    if (content == null) {
      throw new IllegalStateException("the last member is not a file");
    }
    return content;
  }

  /** Reads what the caller left of the last file, so its digest covers all of it, and records the digest. */
  private void finishContent() throws IOException {
    if (content == null) {
      return;
    }
    content.transferTo(java.io.OutputStream.nullOutputStream());
    computed.put(contentPath, HexFormat.of().formatHex(fileSha.digest()));
    content = null;
    contentPath = null;
  }

  private void checkIndex(String text) {
    Map<String, String> recorded;
    try {
      recorded = Sha256Sums.parse(text);
    } catch (IllegalArgumentException e) {
      throw damaged("its index is not readable: " + e.getMessage());
    }
    for (Map.Entry<String, String> c : computed.entrySet()) {
      String r = recorded.get(c.getKey());
      if (r == null) {
        throw damaged(c.getKey() + " is not in its index");
      }
      if (!r.equals(c.getValue())) {
        throw damaged(c.getKey() + " does not match its SHA-256 (recorded " + r + ", read " + c.getValue() + ")");
      }
    }
    if (recorded.size() != computed.size()) {
      throw damaged("its index lists " + recorded.size() + " files, and it holds " + computed.size());
    }
  }

  /** The rest of the stream (tar padding, the compressed frame's end, the age stream's last chunk), then the sum. */
  private void checkEnd() throws IOException {
    decoded.transferTo(java.io.OutputStream.nullOutputStream());
    raw.transferTo(java.io.OutputStream.nullOutputStream());
    String read = HexFormat.of().formatHex(raw.getMessageDigest().digest());
    if (!read.equals(expectedArchiveSha)) {
      throw damaged("its SHA-256 is " + read + ", and its .sha256 file says " + expectedArchiveSha);
    }
  }

  private static String strip(String path) {
    String p = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    for (String part : p.split("/")) {
      if (part.equals("..") || part.isEmpty()) {
        throw new SnapstashException(ErrorKind.VERIFICATION, "the archive holds the unsafe path " + path);
      }
    }
    return p;
  }

  private SnapstashException damaged(String why) {
    return new SnapstashException(ErrorKind.VERIFICATION, "the archive of " + tag + " is damaged: " + why);
  }

  @Override
  public void close() throws IOException {
    tar.close();
    raw.close();
  }

  /**
   * The decoded stream, whose read errors (a zstd frame whose checksum fails, an age chunk whose tag does not
   * verify, a truncated file) are what a damaged copy looks like: VERIFICATION, wherever they surface.
   */
  private final class Undecodable extends FilterInputStream {
    Undecodable(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      try {
        return super.read();
      } catch (IOException e) {
        throw undecodable(e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return super.read(b, off, len);
      } catch (IOException e) {
        throw undecodable(e);
      }
    }

    @Override
    public long skip(long n) throws IOException {
      try {
        return super.skip(n);
      } catch (IOException e) {
        throw undecodable(e);
      }
    }

    private SnapstashException undecodable(IOException e) {
      return new SnapstashException(
          ErrorKind.VERIFICATION, "the archive of " + tag + " is damaged or unreadable: " + e.getMessage(), e);
    }
  }
}
