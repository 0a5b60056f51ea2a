package dev.snapstash.strategy.archive.restic;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.ArchiveStrategy.Member;
import dev.snapstash.core.spi.ArchiveStrategy.Reader;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads {@code restic dump <id> /} as it streams: first the {@link SnapshotIndex} (its directory sorts first in the
 * snapshot's root), then the backup directory's members under its absolute path. Each file's SHA-256 is checked
 * against the index when the next member is asked for; a file the index names as a further hard link is read,
 * checked against the file it links to, and handed back as a HARDLINK. At the end every indexed file must have
 * been seen and restic must have exited 0 (it checks its own chunks and fails on a damaged pack). Any difference is
 * VERIFICATION.
 */
final class ResticReader implements Reader {
  private final String tag;
  private final ProcessRunner.Streaming dump;
  /** The password file restic read at its start; deleted with the reader. */
  private final AutoCloseable session;
  private final TarArchiveInputStream tar;
  private final MessageDigest md;
  private SnapshotIndex index;
  private String prefix;
  private final Set<String> seen = new HashSet<>();
  private final Map<String, String> linkSeen = new HashMap<>();
  private InputStream content;
  private String contentPath;
  private boolean ended;

  ResticReader(String tag, ProcessRunner.Streaming dump, AutoCloseable session) {
    this.tag = tag;
    this.session = session;
    this.dump = dump;
    this.tar = new TarArchiveInputStream(new BufferedInputStream(dump.stdout(), 1 << 16));
    try {
      this.md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public Member next() throws IOException {
    if (ended) {
      return null;
    }
    try {
      return read();
    } catch (IOException e) {
      throw damaged("its stream broke off: " + e.getMessage() + restic());
    }
  }

  private Member read() throws IOException {
    finishContent();
    if (index == null) {
      readIndex();
    }
    while (true) {
      TarArchiveEntry e = tar.getNextEntry();
      if (e == null) {
        checkEnd();
        ended = true;
        return null;
      }
      String name = e.getName();
      if (!name.startsWith(prefix)) {
        if (e.isDirectory() && prefix.startsWith(name.endsWith("/") ? name : name + "/")) {
          continue; // an ancestor of the backup directory, as restic keeps absolute paths
        }
        throw damaged("it holds " + name + ", outside " + index.dir());
      }
      String rel = name.substring(prefix.length());
      if (rel.isEmpty()) {
        continue; // the backup directory itself
      }
      String path = safe(rel);
      Member.Type type;
      String link = null;
      if (e.isDirectory()) {
        type = Member.Type.DIRECTORY;
      } else if (e.isSymbolicLink()) {
        type = Member.Type.SYMLINK;
        link = e.getLinkName();
      } else if (e.isFile()) {
        String linksTo = index.links().get(path);
        md.reset();
        if (linksTo != null) {
          String sum = digest(tar);
          String expected = index.sha256().get(linksTo);
          if (expected == null || !seen.contains(linksTo)) {
            throw damaged("its hard link " + path + " names " + linksTo + ", which it does not hold before it");
          }
          if (!expected.equals(sum)) {
            throw damaged("its hard link " + path + " does not match " + linksTo);
          }
          linkSeen.put(path, linksTo);
          type = Member.Type.HARDLINK;
          link = linksTo;
        } else {
          type = Member.Type.FILE;
          contentPath = path;
          content = new Content(new DigestInputStream(tar, md));
        }
      } else {
        throw damaged("its member " + name + " is of a kind snapstash never stores");
      }
      return new Member(
          path, type, e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(),
          index.modified().getOrDefault(path, e.getLastModifiedTime().toInstant()),
          type == Member.Type.HARDLINK ? 0 : e.getSize(), link);
    }
  }

  private void readIndex() throws IOException {
    String dir = SnapshotIndex.DIR + "/";
    TarArchiveEntry e;
    while ((e = tar.getNextEntry()) != null) {
      if (e.getName().equals(dir)) {
        continue;
      }
      if (!e.getName().equals(dir + SnapshotIndex.FILE)) {
        break;
      }
      try {
        index = SnapshotIndex.parse(tar.readAllBytes());
      } catch (IllegalArgumentException x) {
        throw damaged("its index is not readable: " + x.getMessage());
      }
      String d = index.dir().startsWith("/") ? index.dir().substring(1) : index.dir();
      prefix = d + "/";
      return;
    }
    throw damaged("it holds no " + SnapshotIndex.DIR + "/" + SnapshotIndex.FILE + " first (not a snapshot snapstash made, or cut short)" + restic());
  }

  private void finishContent() throws IOException {
    if (content == null) {
      return;
    }
    content.transferTo(OutputStream.nullOutputStream());
    String read = HexFormat.of().formatHex(md.digest());
    String expected = index.sha256().get(contentPath);
    if (expected == null) {
      throw damaged(contentPath + " is not in its index");
    }
    if (!expected.equals(read)) {
      throw damaged(contentPath + " does not match its SHA-256 (recorded " + expected + ", read " + read + ")");
    }
    seen.add(contentPath);
    content = null;
    contentPath = null;
  }

  private String digest(InputStream in) throws IOException {
    byte[] b = new byte[1 << 16];
    int n;
    while ((n = in.read(b)) > 0) {
      md.update(b, 0, n);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private void checkEnd() {
    try {
      dump.finish();
    } catch (SnapstashException e) {
      throw new SnapstashException(ErrorKind.VERIFICATION, "the restic snapshot of " + tag + " could not be read whole: " + e.getMessage()
          + "; `restic check --read-data` tells more", e);
    }
    if (seen.size() != index.sha256().size() || linkSeen.size() != index.links().size()) {
      throw damaged("its index lists " + index.sha256().size() + " files and " + index.links().size() + " hard links, and it holds "
          + seen.size() + " and " + linkSeen.size());
    }
  }

  /**
   * A file's content. A stream that breaks off (restic stopped at a damaged pack, the tar is cut short) is what a
   * damaged copy looks like: VERIFICATION, with restic's own last word.
   */
  private final class Content extends FilterInputStream {
    Content(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      try {
        return super.read();
      } catch (IOException e) {
        throw broken(e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return super.read(b, off, len);
      } catch (IOException e) {
        throw broken(e);
      }
    }

    @Override
    public void close() {
      // the tar stream stays open for the next member
    }

    private SnapstashException broken(IOException e) {
      SnapstashException x = damaged("its stream broke off in " + contentPath + ": " + e.getMessage() + restic());
      x.initCause(e);
      return x;
    }
  }

  @Override
  public InputStream content() {
    if (content == null) {
      throw new IllegalStateException("the last member is not a file");
    }
    return content;
  }

  private String restic() {
    String t = dump.stderrTail().strip();
    int nl = t.lastIndexOf('\n');
    String last = nl >= 0 ? t.substring(nl + 1) : t;
    return last.isEmpty() ? "" : " (restic: " + last + ")";
  }

  private String safe(String rel) {
    String p = rel.endsWith("/") ? rel.substring(0, rel.length() - 1) : rel;
    for (String part : p.split("/")) {
      if (part.equals("..") || part.isEmpty()) {
        throw damaged("it holds the unsafe path " + rel);
      }
    }
    return p;
  }

  private SnapstashException damaged(String why) {
    return new SnapstashException(ErrorKind.VERIFICATION, "the restic snapshot of " + tag + " is damaged: " + why);
  }

  @Override
  public void close() throws IOException {
    try {
      dump.close();
    } finally {
      try {
        session.close();
      } catch (Exception e) {
        throw new IOException(e.getMessage(), e);
      }
    }
  }
}
