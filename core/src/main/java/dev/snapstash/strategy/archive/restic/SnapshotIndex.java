package dev.snapstash.strategy.archive.restic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.util.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What snapstash stores beside the backup in each snapshot, as {@value #DIR}/{@value #FILE}: the backup directory's
 * absolute path, the SHA-256 of every file, and which names are further hard links of an earlier one. restic's
 * {@code dump} writes every hard link as a full copy and checks its own chunks only; this index is what lets a
 * reader give the links back as links and check every file end to end, against what was on disk when it was stored.
 *
 * <p>JSON lines: a header {@code {"dir": "/abs/path", "files": n, "bytes": n}}, then one line per file, {@code
 * {"path": "home/x", "sha256": "…"}} or {@code {"path": "home/y", "link": "home/x"}}, then one line per member with
 * its modification time to the nanosecond, {@code {"path": "home/x", "modified": "2026-12-07T01:00:00.123456789Z"}}
 * (restic keeps it, but {@code restic dump} rounds it to the nearest second). Paths are relative to the backup
 * directory, with '/' separators.
 */
record SnapshotIndex(
    String dir, Map<String, String> sha256, Map<String, String> links, Map<String, java.time.Instant> modified, long bytes, long members) {
  /** The name of the index's directory in the snapshot's root: the dot makes it sort before any absolute path. */
  static final String DIR = ".snapstash-restic";
  static final String FILE = "index.jsonl";

  /**
   * Reads every file of {@code dir} once to digest it. A file with several links within the tree is digested
   * once; its other names become links. Interruption is answered with INTERRUPTED between reads.
   */
  static SnapshotIndex of(Path dir) throws IOException {
    Walk w = new Walk(dir.toAbsolutePath());
    w.walk(w.root);
    return new SnapshotIndex(w.root.toString(), w.sha, w.links, w.modified, w.bytes, w.members);
  }

  /**
   * A depth-first walk in restic's order (each directory's names sorted by their UTF-8 bytes, as Go compares
   * strings), so that the name a hard link's other names point to is the one {@code restic dump} writes first.
   */
  private static final class Walk {
    final Path root;
    final Map<String, String> sha = new LinkedHashMap<>();
    final Map<String, String> links = new LinkedHashMap<>();
    final Map<String, java.time.Instant> modified = new LinkedHashMap<>();
    final Map<Object, String> inodes = new HashMap<>();
    final byte[] buffer = new byte[1 << 20];
    final MessageDigest md = newSha256();
    long bytes;
    long members;

    Walk(Path root) {
      this.root = root;
    }

    void walk(Path d) throws IOException {
      java.util.List<Path> children;
      try (var s = Files.list(d)) {
        children = new java.util.ArrayList<>(s.toList());
      }
      children.sort((a, b) -> java.util.Arrays.compareUnsigned(utf8(a), utf8(b)));
      for (Path f : children) {
        interrupted();
        members++;
        BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        modified.put(relative(f), a.lastModifiedTime().toInstant());
        if (a.isDirectory()) {
          walk(f);
        } else if (a.isRegularFile()) {
          file(f, a);
        }
      }
    }

    private void file(Path f, BasicFileAttributes a) throws IOException {
      String rel = relative(f);
      int nlink = ((Number) Files.getAttribute(f, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue();
      if (nlink > 1 && a.fileKey() != null) {
        String first = inodes.putIfAbsent(a.fileKey(), rel);
        if (first != null) {
          links.put(rel, first);
          return;
        }
      }
      md.reset();
      try (InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
        int n;
        while ((n = in.read(buffer)) > 0) {
          md.update(buffer, 0, n);
          bytes += n;
          interrupted();
        }
      }
      sha.put(rel, HexFormat.of().formatHex(md.digest()));
    }

    private String relative(Path f) {
      return root.relativize(f).toString().replace(java.io.File.separatorChar, '/');
    }

    private static byte[] utf8(Path p) {
      return p.getFileName().toString().getBytes(StandardCharsets.UTF_8);
    }
  }

  String text() {
    StringBuilder b = new StringBuilder();
    ObjectNode head = Json.MAPPER.createObjectNode();
    head.put("dir", dir);
    head.put("bytes", bytes);
    head.put("members", members);
    b.append(head).append('\n');
    for (Map.Entry<String, String> e : sha256.entrySet()) {
      b.append(Json.MAPPER.createObjectNode().put("path", e.getKey()).put("sha256", e.getValue())).append('\n');
    }
    for (Map.Entry<String, String> e : links.entrySet()) {
      b.append(Json.MAPPER.createObjectNode().put("path", e.getKey()).put("link", e.getValue())).append('\n');
    }
    for (Map.Entry<String, java.time.Instant> e : modified.entrySet()) {
      b.append(Json.MAPPER.createObjectNode().put("path", e.getKey()).put("modified", e.getValue().toString())).append('\n');
    }
    return b.toString();
  }

  /** Parses {@link #text}; IllegalArgumentException for anything else. */
  static SnapshotIndex parse(byte[] bytes) {
    Map<String, String> sha = new LinkedHashMap<>();
    Map<String, String> links = new LinkedHashMap<>();
    Map<String, java.time.Instant> modified = new LinkedHashMap<>();
    String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n");
    try {
      JsonNode head = Json.MAPPER.readTree(lines[0]);
      if (!head.path("dir").isTextual()) {
        throw new IllegalArgumentException("its first line names no directory");
      }
      for (int i = 1; i < lines.length; i++) {
        if (lines[i].isEmpty()) {
          continue;
        }
        JsonNode n = Json.MAPPER.readTree(lines[i]);
        String path = n.path("path").asText();
        if (n.has("sha256")) {
          sha.put(path, n.get("sha256").asText());
        } else if (n.has("link")) {
          links.put(path, n.get("link").asText());
        } else if (n.has("modified")) {
          modified.put(path, java.time.Instant.parse(n.get("modified").asText()));
        } else {
          throw new IllegalArgumentException("line " + (i + 1) + " is neither a file nor a link");
        }
      }
      return new SnapshotIndex(head.get("dir").asText(), sha, links, modified, head.path("bytes").asLong(), head.path("members").asLong());
    } catch (IOException | java.time.format.DateTimeParseException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void interrupted() {
    if (Thread.currentThread().isInterrupted()) {
      throw new SnapstashException(ErrorKind.INTERRUPTED, "the copy to restic was interrupted");
    }
  }
}
