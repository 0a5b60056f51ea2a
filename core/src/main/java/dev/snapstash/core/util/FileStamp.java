package dev.snapstash.core.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Optional;

/**
 * What tells that a file is still the one a process read or wrote: a rewrite changes its inode, its size or its
 * times. For lists kept in memory within one run (the home index, the digest list).
 */
public record FileStamp(Object fileKey, long size, FileTime modified, FileTime changed) {
  /** The file's stamp; empty when it cannot be read (no such file, say). */
  public static Optional<FileStamp> of(Path f) {
    try {
      BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
      FileTime ctime = (FileTime) Files.getAttribute(f, "unix:ctime");
      return Optional.of(new FileStamp(a.fileKey(), a.size(), a.lastModifiedTime(), ctime));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Whether {@code f} still has this stamp. */
  public boolean matches(Path f) {
    return of(f).filter(this::equals).isPresent();
  }
}
