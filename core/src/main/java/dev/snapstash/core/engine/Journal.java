package dev.snapstash.core.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.jsontype.NamedType;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import java.io.IOException;
import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The crash journal of the run holding a backup root: {@code <root>/.snapstash-journal}, JSON lines, each
 * appended and fsync'ed before the side effect it describes is relied on. A run that ends cleanly deletes it; one
 * that dies leaves it for {@code snapstash recover}. Mode 0600: it holds unlock and cancel tokens.
 */
public final class Journal implements UndoLog, AutoCloseable {
  public static final String FILE = ".snapstash-journal";
  private static final ObjectMapper JSON = mapper();

  /**
   * The journal's mapper, knowing every undo step by its journal name: the engine's and the freezer's, and those
   * the providers on the class path declare (so a strategy added later is recovered like the built-in ones).
   */
  private static ObjectMapper mapper() {
    ObjectMapper m = JsonMapper.builder().addModule(new JavaTimeModule()).build();
    m.registerSubtypes(
        new NamedType(RemovePartialBackup.class, RemovePartialBackup.NAME),
        new NamedType(dev.snapstash.core.freeze.Thaw.class, dev.snapstash.core.freeze.Thaw.NAME),
        new NamedType(dev.snapstash.core.freeze.StopWatchdog.class, dev.snapstash.core.freeze.StopWatchdog.NAME));
    dev.snapstash.core.spi.Providers.undoTypes().forEach((name, type) -> m.registerSubtypes(new NamedType(type, name)));
    return m;
  }

  /** One line of the journal. */
  public record Entry(String event, Instant at, String tag, Long pid, Undo undo) {}

  private final Path file;
  // Not a FileChannel: an interruptible channel closes itself when the writing thread is interrupted, which is
  // exactly when SIGTERM arrives and the journal matters most.
  private final FileOutputStream out;

  private Journal(Path file, FileOutputStream out) {
    this.file = file;
    this.out = out;
  }

  public static Path file(Path root) {
    return root.resolve(FILE);
  }

  /** Appends to an existing journal (recover marks what it undid, so a recover killed midway resumes). */
  public static Journal resume(Path root) {
    try {
      return new Journal(file(root), new FileOutputStream(file(root).toFile(), true));
    } catch (IOException e) {
      throw SnapstashException.storage("cannot open the crash journal under " + root + ": " + e.getMessage(), e);
    }
  }

  /** Starts the journal of a new run; refuses if a dead run's journal is still there. */
  public static Journal begin(Path root, String operation, String tag) {
    Path f = file(root);
    if (Files.exists(f)) {
      throw leftover(root);
    }
    try {
      dev.snapstash.core.util.FileModes.ownerOnly().createDirectories(root);
      Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Journal j = new Journal(f, new FileOutputStream(f.toFile(), true));
      j.append(new Entry(operation, Instant.now(), tag, ProcessHandle.current().pid(), null));
      return j;
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write the crash journal " + f + ": " + e.getMessage(), e);
    }
  }

  public static SnapstashException leftover(Path root) {
    String what = read(root).stream().findFirst().map(e -> " (" + e.event() + " " + e.tag() + ", pid " + e.pid() + ")").orElse("");
    return SnapstashException.precondition(
        "a previous snapstash run" + what + " died without cleaning up, and the instance may still be locked; run"
            + " `snapstash recover` (or `snapstash backup --auto-recover`)");
  }

  /** The entries of the journal under {@code root}, or none. A torn last line (killed mid-write) is ignored. */
  public static List<Entry> read(Path root) {
    Path f = file(root);
    if (!Files.exists(f)) {
      return List.of();
    }
    List<Entry> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
        try {
          out.add(JSON.readValue(line, Entry.class));
        } catch (IOException e) {
          // the line being written when the process died
        }
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot read the crash journal " + f + ": " + e.getMessage(), e);
    }
    return out;
  }

  /** Side effects recorded and not marked done, in the order they must be undone. */
  public static List<Undo> pending(List<Entry> entries) {
    List<Undo> open = new ArrayList<>();
    for (Entry e : entries) {
      if (e.undo() == null) {
        continue;
      }
      if (e.event().equals("add")) {
        open.add(e.undo());
      } else if (e.event().equals("done")) {
        open.remove(e.undo());
      }
    }
    open.sort(Comparator.comparingInt(Undo::order));
    return open;
  }

  /** What this run has recorded and not (yet) marked done, as read back from the file. */
  public List<Undo> stillPending() {
    return pending(read(file.getParent()));
  }

  public static Optional<String> tag(List<Entry> entries) {
    return entries.stream().map(Entry::tag).filter(t -> t != null).findFirst();
  }

  @Override
  public synchronized void add(Undo undo) {
    append(new Entry("add", Instant.now(), null, null, undo));
  }

  @Override
  public synchronized void done(Undo undo) {
    append(new Entry("done", Instant.now(), null, null, undo));
  }

  private void append(Entry e) {
    try {
      out.write((JSON.writeValueAsString(e) + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      out.getFD().sync();
    } catch (IOException x) {
      throw SnapstashException.storage("cannot write the crash journal " + file + ": " + x.getMessage(), x);
    }
  }

  /** The run ended and left nothing to undo: the journal goes. */
  public void finish() {
    close();
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot remove the crash journal " + file + ": " + e.getMessage(), e);
    }
  }

  /** Deletes a journal whose every side effect has been undone (by recover). */
  public static void discard(Path root) {
    try {
      Files.deleteIfExists(file(root));
    } catch (IOException e) {
      throw SnapstashException.storage("cannot remove the crash journal under " + root + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      out.close();
    } catch (IOException e) {
      // nothing left to write
    }
  }
}
