package dev.snapstash.core.engine;

import dev.snapstash.core.util.Json;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.util.FileModes;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backups under {@code backup.root}: one directory per tag, each with its {@code manifest.json}. Manifests
 * are written atomically (temporary file, fsync, rename, fsync of the directory) so a crash leaves either the
 * old or the new manifest, never half of one. Every directory and file the store writes gets the store's
 * {@link FileModes}, whatever the umask.
 */
public final class BackupStore {
  private static final Logger log = LoggerFactory.getLogger(BackupStore.class);

  /** Prefix of a backup directory being deleted; a dot keeps it out of {@link #list()}. */
  static final String REMOVING = ".removing-";

  private final Path root;
  private final FileModes modes;

  /** A store whose files are readable by their owner only. */
  public BackupStore(Path root) {
    this(root, FileModes.ownerOnly());
  }

  public BackupStore(Path root, FileModes modes) {
    this.root = root;
    this.modes = modes;
  }

  public Path root() {
    return root;
  }

  /** What the root (when the store creates it), each backup directory and snapstash's files in it get. */
  public FileModes modes() {
    return modes;
  }

  /**
   * Gives every backup under the root its modes again: the directory, and all that snapstash wrote in it
   * (manifest, checksums, indexes, the database dump), but not the copy of the home, which keeps the home's own
   * modes. For backups that an older snapstash wrote with the umask's modes (0755 and 0644 as a rule), and for a
   * change of {@code backup.group} either way. Only directories with a manifest: nothing else in the root is known
   * to be snapstash's. What cannot be changed is logged; returns how many backups changed.
   */
  public int applyModes() {
    if (!Files.isDirectory(root)) {
      return 0;
    }
    List<Path> backups;
    try (Stream<Path> s = Files.list(root)) {
      backups =
          s.filter(d -> !d.getFileName().toString().startsWith("."))
              .filter(d -> Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS))
              .filter(d -> Files.isRegularFile(d.resolve(Manifest.FILE), java.nio.file.LinkOption.NOFOLLOW_LINKS))
              .toList();
    } catch (IOException e) {
      throw SnapstashException.storage("cannot list " + root + ": " + e.getMessage(), e);
    }
    int changed = 0;
    for (Path d : backups) {
      Path home = d.resolve("home");
      try {
        if (modes.applyTree(d, p -> p.equals(home)) > 0) {
          changed++;
        }
      } catch (IOException | RuntimeException e) {
        log.warn("cannot give {} the modes {}: {}", d, modes.describe(), e.getMessage());
      }
    }
    return changed;
  }

  public Path dir(String tag) {
    return root.resolve(tag);
  }

  /** Every backup with a readable manifest, newest first. Directories without one are reported, not listed. */
  public List<Manifest> list() {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    List<Manifest> out = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(root)) {
      // Names starting with a dot are snapstash's own working directories (backups being removed), never backups.
      for (Path d : dirs.filter(Files::isDirectory).filter(d -> !d.getFileName().toString().startsWith(".")).toList()) {
        Path m = d.resolve(Manifest.FILE);
        if (!Files.isRegularFile(m)) {
          continue;
        }
        try {
          out.add(Json.MAPPER.readValue(m.toFile(), Manifest.class));
        } catch (IOException e) {
          log.warn("ignoring {}: its manifest cannot be read ({})", d, e.getMessage());
        }
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot list " + root + ": " + e.getMessage(), e);
    }
    // Newest first by start time: tags begin with the instance name, which may differ between backups.
    out.sort(
        Comparator.comparing(Manifest::startedAt, Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(Manifest::tag)
            .reversed());
    return out;
  }

  public Optional<Manifest> find(String tag) {
    return list().stream().filter(m -> m.tag().equals(tag)).findFirst();
  }

  public Optional<Manifest> latestComplete() {
    return list().stream().filter(m -> m.state() == Manifest.State.COMPLETE).findFirst();
  }

  /**
   * Resolves "latest" or a tag to a manifest; an unknown tag is a PRECONDITION error that lists the nearest
   * existing tags.
   */
  public Manifest resolve(String tagOrLatest) {
    List<Manifest> all = list();
    if ("latest".equals(tagOrLatest)) {
      return all.stream()
          .filter(m -> m.state() == Manifest.State.COMPLETE)
          .findFirst()
          .orElseThrow(() -> SnapstashException.precondition("there is no complete backup under " + root));
    }
    return all.stream()
        .filter(m -> m.tag().equals(tagOrLatest))
        .findFirst()
        .orElseThrow(
            () -> {
              List<String> near =
                  all.stream()
                      .map(Manifest::tag)
                      .sorted(Comparator.comparingInt(t -> distance(t, tagOrLatest)))
                      .limit(3)
                      .toList();
              return new SnapstashException(
                  ErrorKind.PRECONDITION,
                  "no backup tagged '" + tagOrLatest + "' under " + root
                      + (near.isEmpty() ? "" : "; nearest: " + String.join(", ", near)));
            });
  }

  /**
   * Takes a backup out of the catalogue in one atomic rename to {@code .removing-<tag>} (made durable by an fsync
   * of the root) and returns the new path for the caller to delete. Whatever is left there after a crash is
   * deleted by {@link #sweepRemoved}.
   */
  public Path markRemoved(String tag) {
    Path from = dir(tag);
    Path to = root.resolve(REMOVING + tag);
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot remove the backup " + tag + " (rename to " + to + " failed): " + e.getMessage(), e);
    }
    fsyncDirectory(root);
    return to;
  }

  /** Finishes deleting backups whose removal was interrupted (the process died halfway through a prune). */
  public void sweepRemoved() {
    if (!Files.isDirectory(root)) {
      return;
    }
    List<Path> leftovers;
    try (Stream<Path> s = Files.list(root)) {
      leftovers = s.filter(p -> p.getFileName().toString().startsWith(REMOVING)).toList();
    } catch (IOException e) {
      throw SnapstashException.storage("cannot list " + root + ": " + e.getMessage(), e);
    }
    for (Path p : leftovers) {
      log.info("finishing the removal of {}, interrupted earlier", p.getFileName());
      dev.snapstash.core.util.Trees.deleteRecursively(p);
    }
  }

  public void write(Manifest manifest) {
    Path dir = dir(manifest.tag());
    Path tmp = dir.resolve(Manifest.FILE + ".tmp");
    try {
      modes.createDirectories(dir);
      byte[] bytes = Json.MAPPER.writeValueAsBytes(manifest);
      try (FileChannel ch =
          modes.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap(bytes));
        ch.force(true);
      }
      try {
        Files.move(tmp, dir.resolve(Manifest.FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, dir.resolve(Manifest.FILE), StandardCopyOption.REPLACE_EXISTING);
      }
      fsyncDirectory(dir);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write the manifest of " + manifest.tag() + " in " + dir + ": " + e.getMessage(), e);
    }
  }

  static void fsyncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some filesystems refuse to open directories for fsync; the rename is still atomic there.
    }
  }

  static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
