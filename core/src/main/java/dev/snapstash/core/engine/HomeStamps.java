package dev.snapstash.core.engine;

import dev.snapstash.core.util.ListLines;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import dev.snapstash.core.util.Trees;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code home.stamps} beside a backup's {@code home.sha256}: for each file listed there, the inode number and the
 * change time (ctime, in nanoseconds) that its copy in the backup had when its digest was established. The next
 * backup compares them with the copy as it is now, a stat per file: every change to a file (a write, even one whose
 * modification time is then set back with {@code touch -r}, a truncation, a mode) moves its change time forward, and
 * no system call sets it back, so the same inode with the same change time still holds the bytes that were hashed.
 * Only a file whose stamp does not match is read again (see {@link PreviousHome}).
 *
 * <p>A separate file, so that {@code home.sha256} stays in {@code sha256sum -c} format. Lines are {@code <inode, 20
 * digits> <ctime ns, 19 digits>  ./<path>}, in the order of {@code home.sha256}, names escaped as there ({@link
 * ListLines}). A missing, damaged or unknown-version file only means the next backup reads the files again.
 */
final class HomeStamps {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HomeStamps.class);
  static final String FILE = "home.stamps";
  private static final String HEADER = "# snapstash home stamps 1: inode, change time (ns since 1970) of each file of home/";
  /** A line's value: the inode number and the change time, zero-padded. */
  static final int VALUE = 20 + 1 + 19;

  /** What proves a file unchanged: its inode number and change time. */
  record Stamp(long ino, long ctimeNanos) {}

  static final HomeStamps EMPTY = new HomeStamps(new String[0], new long[0], new long[0]);

  private final String[] paths;
  private final long[] inos;
  private final long[] ctimes;

  private HomeStamps(String[] paths, long[] inos, long[] ctimes) {
    this.paths = paths;
    this.inos = inos;
    this.ctimes = ctimes;
  }

  int size() {
    return paths.length;
  }

  String path(int i) {
    return paths[i];
  }

  Stamp stamp(int i) {
    return new Stamp(inos[i], ctimes[i]);
  }

  /** Where {@code path} is in the list, or a negative number. */
  int indexOf(String path) {
    return Arrays.binarySearch(paths, path);
  }

  /** The stamp recorded for {@code path}, or null. */
  Stamp of(String path) {
    int i = indexOf(path);
    return i < 0 ? null : stamp(i);
  }

  /** The file's stamp as it is now; empty when it is not a regular file or cannot be read. */
  static Optional<Stamp> now(Path file) {
    try {
      Map<String, Object> a = Files.readAttributes(file, "unix:mode,ino,ctime", LinkOption.NOFOLLOW_LINKS);
      if ((((Integer) a.get("mode")) & 0170000) != 0100000) {
        return Optional.empty();
      }
      return Optional.of(new Stamp((Long) a.get("ino"), ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS)));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * Which of the stamped files of {@code home} still have their stamps: a stat each, in slices over {@code pool}. On
   * 100,000 files this is mostly path lookups in the kernel.
   */
  BitSet proven(Path home, ExecutorService pool, int threads) throws InterruptedException {
    BitSet proven = new BitSet(size());
    List<Future<BitSet>> slices = new ArrayList<>();
    int slice = Math.max(1, (size() + 4 * threads - 1) / (4 * threads));
    for (int from = 0; from < size(); from += slice) {
      int start = from;
      int end = Math.min(size(), from + slice);
      slices.add(pool.submit(() -> {
        BitSet ok = new BitSet();
        for (int i = start; i < end; i++) {
          if (now(home.resolve(paths[i])).filter(stamp(i)::equals).isPresent()) {
            ok.set(i);
          }
        }
        return ok;
      }));
    }
    for (Future<BitSet> s : slices) {
      proven.or(HomeChecksums.result(s));
    }
    return proven;
  }

  /**
   * Keeps {@code backupDir}'s stamps true across a deletion of other backups. Deleting a backup unlinks its files,
   * which moves the change time of every inode it shares with the others (hard-linked incrementals); without this,
   * the next backup would find none of the shared files proven and read the whole previous backup again. Before the
   * deletion, {@code before} notes which files still match their stamps; after it, {@link Refresh#after} stamps
   * those again as they are now. A change made to one of them while the deletion runs is taken for the deletion's
   * own. Nothing to do for a home that is a subvolume: it shares no inode with another backup.
   */
  static Refresh before(Path backupDir, int threads, dev.snapstash.core.util.FileModes modes) {
    Path home = backupDir.resolve("home");
    HomeStamps stamps = Trees.mayBeSubvolume(home) ? EMPTY : read(backupDir);
    if (stamps.size() == 0) {
      return new Refresh(backupDir, stamps, new BitSet(), threads, modes);
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    try {
      return new Refresh(backupDir, stamps, stamps.proven(home, pool, threads), threads, modes);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Refresh(backupDir, EMPTY, new BitSet(), threads, modes);
    } finally {
      pool.shutdownNow();
    }
  }

  /** What {@link #before} found, to stamp again once the deletion is done. */
  static final class Refresh {
    private final Path backupDir;
    private final HomeStamps stamps;
    private final BitSet proven;
    private final int threads;
    private final dev.snapstash.core.util.FileModes modes;

    private Refresh(Path backupDir, HomeStamps stamps, BitSet proven, int threads, dev.snapstash.core.util.FileModes modes) {
      this.backupDir = backupDir;
      this.stamps = stamps;
      this.proven = proven;
      this.threads = threads;
      this.modes = modes;
    }

    /** Rewrites the stamps of the files proven before; the others lose theirs (the next backup reads them). */
    void after() {
      if (stamps.size() == 0) {
        return;
      }
      Path home = backupDir.resolve("home");
      ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
      try (Writer w = new Writer(backupDir, modes)) {
        List<Future<Stamp[]>> slices = new ArrayList<>();
        int slice = Math.max(1, (stamps.size() + 4 * threads - 1) / (4 * threads));
        for (int from = 0; from < stamps.size(); from += slice) {
          int start = from;
          int end = Math.min(stamps.size(), from + slice);
          slices.add(pool.submit(() -> {
            Stamp[] now = new Stamp[end - start];
            for (int i = start; i < end; i++) {
              now[i - start] = proven.get(i) ? now(home.resolve(stamps.path(i))).orElse(null) : null;
            }
            return now;
          }));
        }
        int i = 0;
        for (Future<Stamp[]> f : slices) {
          for (Stamp s : HomeChecksums.result(f)) {
            w.add(stamps.path(i++), s);
          }
        }
        w.commit();
      } catch (IOException | RuntimeException e) {
        log.warn("could not refresh {} of {} (the next backup reads its shared files again): {}", FILE, backupDir.getFileName(), e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /** The stamps of {@code backupDir}; empty when there are none, or the file is not one this version wrote. */
  static HomeStamps read(Path backupDir) {
    Path f = backupDir.resolve(FILE);
    if (!Files.isRegularFile(f)) {
      return EMPTY;
    }
    try {
      byte[] text = Files.readAllBytes(f);
      byte[] header = (HEADER + "\n").getBytes(StandardCharsets.UTF_8);
      if (text.length < header.length || !Arrays.equals(text, 0, header.length, header, 0, header.length)) {
        return EMPTY;
      }
      List<String> paths = new ArrayList<>();
      long[][] values = {new long[1 << 10], new long[1 << 10]};
      boolean whole =
          ListLines.read(text, header.length, VALUE, new ListLines.LineVisitor() {
            @Override
            public boolean plain(byte[] t, int start, String path) {
              return add(path, new String(t, start, VALUE, StandardCharsets.US_ASCII));
            }

            @Override
            public boolean other(String line) {
              Optional<ListLines.Entry> e = ListLines.parse(line, VALUE);
              return e.isPresent() && add(e.get().path(), e.get().hex());
            }

            private boolean add(String path, String value) {
              Optional<Stamp> s = parse(value);
              if (s.isEmpty() || (!paths.isEmpty() && paths.get(paths.size() - 1).compareTo(path) >= 0)) {
                return false; // not as write puts it: trust none of it
              }
              if (paths.size() == values[0].length) {
                values[0] = Arrays.copyOf(values[0], values[0].length * 2);
                values[1] = Arrays.copyOf(values[1], values[1].length * 2);
              }
              values[0][paths.size()] = s.get().ino();
              values[1][paths.size()] = s.get().ctimeNanos();
              paths.add(path);
              return true;
            }
          });
      if (!whole) {
        return EMPTY;
      }
      return new HomeStamps(
          paths.toArray(String[]::new), Arrays.copyOf(values[0], paths.size()), Arrays.copyOf(values[1], paths.size()));
    } catch (IOException | RuntimeException e) {
      return EMPTY;
    }
  }

  private static Optional<Stamp> parse(String value) {
    if (value.length() != VALUE || value.charAt(20) != ' ') {
      return Optional.empty();
    }
    try {
      return Optional.of(new Stamp(Long.parseUnsignedLong(value, 0, 20, 10), Long.parseLong(value, 21, VALUE, 10)));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** A line's value for {@code s}; null for one that does not fit (a change time before 1970). */
  static String value(Stamp s) {
    if (s.ctimeNanos() < 0) {
      return null;
    }
    String ino = Long.toUnsignedString(s.ino());
    String ctime = Long.toString(s.ctimeNanos());
    return "0".repeat(20 - ino.length()) + ino + ' ' + "0".repeat(19 - ctime.length()) + ctime;
  }

  /** Writes a list of stamps in path order, then moves it into place as {@code backupDir/home.stamps}. */
  static final class Writer implements AutoCloseable {
    private final Path backupDir;
    private final Path tmp;
    private final OutputStream out;
    private boolean done;

    Writer(Path backupDir, dev.snapstash.core.util.FileModes modes) throws IOException {
      this.backupDir = backupDir;
      this.tmp = backupDir.resolve(FILE + ".tmp");
      this.out = new BufferedOutputStream(modes.newOutputStream(tmp), 1 << 16);
      out.write((HEADER + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Adds {@code path}'s stamp; nothing for a file without one (the next backup reads it again). */
    void add(String path, Stamp s) throws IOException {
      String v = s == null ? null : value(s);
      if (v != null) {
        out.write(ListLines.line(v, path).getBytes(StandardCharsets.UTF_8));
      }
    }

    /** Puts the list in place. */
    void commit() throws IOException {
      out.close();
      Files.move(tmp, backupDir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      done = true;
    }

    @Override
    public void close() throws IOException {
      if (!done) {
        out.close();
        Files.deleteIfExists(tmp);
      }
    }
  }
}
