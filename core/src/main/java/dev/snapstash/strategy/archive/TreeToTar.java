package dev.snapstash.strategy.archive;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a directory tree into a tar stream as it walks it: every member under {@code <tag>/}, with its mode,
 * owner, modification time, symbolic links as links, and a file reached by several hard links once, its other
 * names as tar hard-link members (what GNU tar writes and restores). The SHA-256 of every file is computed while it
 * is copied, and the list is written last, as the member {@value #INDEX}, in {@code sha256sum} format relative to
 * {@code <tag>/}: {@code cd <tag> && sha256sum -c .snapstash-archive.sha256} checks an extracted archive.
 */
public final class TreeToTar {
  private static final Logger log = LoggerFactory.getLogger(TreeToTar.class);
  public static final String INDEX = ".snapstash-archive.sha256";
  private static final int BUFFER = 1 << 20;

  private final TarArchiveOutputStream tar;
  private final String prefix;
  private final StringBuilder index = new StringBuilder();
  /**
   * Files with more than one link, by inode, to the name they were first stored under. As GNU tar's, it grows with
   * every such file: in an rsync incremental that is nearly every file (their other links are in the previous
   * backup), about a hundred bytes each.
   */
  private final Map<Inode, String> linked = new HashMap<>();
  private final byte[] buffer = new byte[BUFFER];
  private final MessageDigest sha;
  private long members;

  public TreeToTar(TarArchiveOutputStream tar, String tag) {
    this.tar = tar;
    this.prefix = tag + "/";
    try {
      this.sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes the tree under {@code dir}, then the index; returns how many members were written. */
  public long write(Path dir) throws IOException {
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
        interrupted();
        String rel = relative(dir, d);
        TarArchiveEntry e = new TarArchiveEntry(rel.isEmpty() ? prefix : prefix + rel + "/", TarConstants.LF_DIR, true);
        common(e, d);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        members++;
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        interrupted();
        String rel = relative(dir, f);
        if (attrs.isSymbolicLink()) {
          TarArchiveEntry e = new TarArchiveEntry(prefix + rel, TarConstants.LF_SYMLINK, true);
          e.setLinkName(Files.readSymbolicLink(f).toString());
          common(e, f);
          tar.putArchiveEntry(e);
          tar.closeArchiveEntry();
        } else if (attrs.isRegularFile()) {
          file(f, rel);
        } else {
          log.warn("not archived: {} is neither a file, a directory nor a symbolic link", f);
          return FileVisitResult.CONTINUE;
        }
        members++;
        return FileVisitResult.CONTINUE;
      }
    });
    byte[] sums = index.toString().getBytes(StandardCharsets.UTF_8);
    TarArchiveEntry e = new TarArchiveEntry(prefix + INDEX, true);
    e.setSize(sums.length);
    e.setMode(0600);
    tar.putArchiveEntry(e);
    tar.write(sums);
    tar.closeArchiveEntry();
    return members;
  }

  private void file(Path f, String rel) throws IOException {
    Map<String, Object> unix = Files.readAttributes(f, "unix:nlink,ino,dev", LinkOption.NOFOLLOW_LINKS);
    if (((Number) unix.get("nlink")).intValue() > 1) {
      Inode id = new Inode(((Number) unix.get("dev")).longValue(), ((Number) unix.get("ino")).longValue());
      String first = linked.get(id);
      if (first != null) {
        TarArchiveEntry e = new TarArchiveEntry(prefix + rel, TarConstants.LF_LINK, true);
        e.setLinkName(prefix + first);
        common(e, f);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        return;
      }
      linked.put(id, rel);
    }
    TarArchiveEntry e = new TarArchiveEntry(prefix + rel, TarConstants.LF_NORMAL, true);
    common(e, f);
    long size = Files.size(f);
    e.setSize(size);
    tar.putArchiveEntry(e);
    sha.reset();
    long copied = 0;
    try (InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
      int n;
      // Never more than the header promised: a file growing while it is read would corrupt the stream.
      while (copied < size && (n = in.read(buffer, 0, (int) Math.min(buffer.length, size - copied))) > 0) {
        sha.update(buffer, 0, n);
        tar.write(buffer, 0, n);
        copied += n;
        interrupted();
      }
    }
    if (copied != size) {
      throw SnapstashException.storage(
          f + " shrank from " + size + " to " + copied + " bytes while it was archived; a backup must not change", null);
    }
    tar.closeArchiveEntry();
    index.append(Sha256Sums.line(HexFormat.of().formatHex(sha.digest()), rel));
  }

  private record Inode(long dev, long ino) {}

  private static void common(TarArchiveEntry e, Path p) throws IOException {
    Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
    e.setMode(((Number) a.get("mode")).intValue() & 07777);
    e.setUserId(((Number) a.get("uid")).longValue());
    e.setGroupId(((Number) a.get("gid")).longValue());
    e.setLastModifiedTime((FileTime) a.get("lastModifiedTime"));
  }

  private static String relative(Path root, Path p) {
    return root.relativize(p).toString().replace(java.io.File.separatorChar, '/');
  }

  private static void interrupted() {
    if (Thread.currentThread().isInterrupted()) {
      throw new SnapstashException(ErrorKind.INTERRUPTED, "the archive was interrupted; its partial file was removed");
    }
  }
}
