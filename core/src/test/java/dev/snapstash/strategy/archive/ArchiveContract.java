package dev.snapstash.strategy.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.engine.ArchiveDestination;
import dev.snapstash.core.engine.Archives;
import dev.snapstash.core.engine.Retention;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.ArchiveStrategy.Member;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
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
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link ArchiveStrategy} guarantees: a copy comes back member for member (contents, modes, times, links,
 * hard links); a store that is interrupted leaves the destination as it was; delete and retention are idempotent
 * and never remove the newest copy; a new strategy object sees what an earlier one stored; a damaged copy is
 * refused while it is read. Each strategy runs it through a subclass that gives it a real destination.
 */
public abstract class ArchiveContract {
  protected static final String INSTANCE = "bb";
  @TempDir protected Path sources;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  /** A new strategy object writing to the subclass's one destination, as a new process would build it. */
  protected abstract ArchiveStrategy strategy() throws Exception;

  /** Every name the destination holds (files, objects), complete copies or not: what must not change by a failure. */
  protected abstract Set<String> destinationContents() throws Exception;

  /** Changes some bytes of the stored copy {@code tag} as a faulty disk or transfer would. */
  protected abstract void damage(String tag) throws Exception;

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  protected static String tag(int day) {
    return INSTANCE + "-202612" + String.format("%02d", day) + "-010000";
  }

  protected static Instant at(int day) {
    return Instant.parse("2026-12-" + String.format("%02d", day) + "T01:00:00Z");
  }

  /** A backup directory as the engine leaves one: a home with links and odd names, a dump, a manifest. */
  protected ArchiveStrategy.Source backup(String tag, Instant at, int bigMib) throws IOException {
    Path dir = sources.resolve(tag);
    Path home = dir.resolve("home");
    Files.createDirectories(home.resolve("shared/data/repositories/1/objects/pack"));
    Files.writeString(dir.resolve("manifest.json"), "{\"tag\":\"" + tag + "\"}");
    Files.writeString(home.resolve("shared/bitbucket.properties"), "jdbc.url=jdbc:postgresql://db/bb\n");
    Files.setPosixFilePermissions(home.resolve("shared/bitbucket.properties"), PosixFilePermissions.fromString("rw-------"));
    Path pack = home.resolve("shared/data/repositories/1/objects/pack/pack-1.pack");
    byte[] data = new byte[300_000];
    new Random(tag.hashCode()).nextBytes(data);
    Files.write(pack, data);
    Files.setPosixFilePermissions(pack, PosixFilePermissions.fromString("r--r--r--"));
    Files.createLink(home.resolve("shared/data/repositories/1/objects/pack/pack-1.keep"), pack);
    Files.createDirectories(home.resolve("shared/data/repositories/2"));
    Files.createLink(home.resolve("shared/data/repositories/2/shared.pack"), pack);
    Files.createSymbolicLink(home.resolve("shared/data/repositories/1/HEAD-link"), Path.of("objects/pack/pack-1.pack"));
    Files.createSymbolicLink(home.resolve("dangling"), Path.of("/nonexistent/target"));
    Files.writeString(home.resolve("naïve name with spaces.txt"), "unicode and spaces");
    Files.writeString(home.resolve("a\\back\nslash"), "a backslash and a newline in the name");
    Files.createFile(home.resolve("empty"));
    Path deep = home;
    for (int i = 0; i < 12; i++) {
      deep = deep.resolve("a-rather-long-directory-name-" + i);
    }
    Files.createDirectories(deep);
    Files.writeString(deep.resolve("deep.txt"), "past 100 characters of path");
    Files.setPosixFilePermissions(home.resolve("shared/data/repositories/2"), PosixFilePermissions.fromString("rwxr-x---"));
    if (bigMib > 0) {
      byte[] chunk = new byte[1 << 20];
      Random r = new Random(7);
      try (var out = Files.newOutputStream(dir.resolve("database.dump"))) {
        for (int i = 0; i < bigMib; i++) {
          r.nextBytes(chunk);
          out.write(chunk);
        }
      }
    } else {
      Files.writeString(dir.resolve("database.dump"), "-- PostgreSQL database dump\n");
    }
    Files.setLastModifiedTime(home.resolve("empty"), FileTime.from(Instant.parse("2020-02-29T12:34:56Z")));
    return new ArchiveStrategy.Source(tag, dir, at);
  }

  /**
   * What a tree holds, as comparable text per path: type, mode, time (seconds), content digest or link. Every name
   * of a file with several names in the tree is marked "linked", whichever of them a strategy stores first (tar
   * goes in directory order, restic in sorted order).
   */
  protected static Map<String, String> describe(Path root) throws IOException {
    Map<String, String> out = new TreeMap<>();
    Map<Object, List<String>> inodes = new HashMap<>();
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) throws IOException {
        if (!d.equals(root)) {
          out.put(rel(root, d), "dir " + mode(d) + " " + a.lastModifiedTime().toMillis() / 1000);
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
        String r = rel(root, f);
        if (a.isSymbolicLink()) {
          out.put(r, "symlink -> " + Files.readSymbolicLink(f));
        } else {
          inodes.computeIfAbsent(a.fileKey(), k -> new ArrayList<>()).add(r);
          out.put(r, "file " + mode(f) + " " + a.lastModifiedTime().toMillis() / 1000 + " " + sha(Files.newInputStream(f)));
        }
        return FileVisitResult.CONTINUE;
      }
    });
    for (List<String> names : inodes.values()) {
      if (names.size() > 1) {
        names.forEach(n -> out.put(n, out.get(n) + " linked"));
      }
    }
    return out;
  }

  /** The same description, read from a copy as its reader streams it. */
  protected static Map<String, String> describe(ArchiveStrategy.Reader reader) throws IOException {
    Map<String, String> out = new TreeMap<>();
    Map<String, String> files = new HashMap<>();
    Member m;
    while ((m = reader.next()) != null) {
      String mode = Integer.toOctalString(m.mode());
      long secs = m.modified().getEpochSecond();
      switch (m.type()) {
        case DIRECTORY -> out.put(m.path(), "dir " + mode + " " + secs);
        case SYMLINK -> out.put(m.path(), "symlink -> " + m.linkTarget());
        case FILE -> {
          String d = "file " + mode + " " + secs + " " + sha(reader.content());
          files.put(m.path(), d);
          out.put(m.path(), d);
        }
        case HARDLINK -> {
          assertThat(files).as("the hard link %s names a file before it", m.path()).containsKey(m.linkTarget());
          out.put(m.path(), files.get(m.linkTarget()) + " linked");
          out.put(m.linkTarget(), files.get(m.linkTarget()) + " linked");
        }
      }
    }
    return out;
  }

  private static String mode(Path p) throws IOException {
    return Integer.toOctalString((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777);
  }

  private static String rel(Path root, Path p) {
    return root.relativize(p).toString();
  }

  protected static String sha(InputStream in) throws IOException {
    try (in) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] b = new byte[65536];
      int n;
      while ((n = in.read(b)) > 0) {
        md.update(b, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The undo steps a store journaled, and which it marked done. */
  protected static final class RecordingLog implements UndoLog {
    final List<Undo> added = new CopyOnWriteArrayList<>();
    final List<Undo> done = new CopyOnWriteArrayList<>();
    Runnable onAdd = () -> {};

    @Override
    public void add(Undo undo) {
      added.add(undo);
      onAdd.run();
    }

    @Override
    public void done(Undo undo) {
      done.add(undo);
    }
  }

  @Test
  void aCopyComesBackMemberForMember() throws Exception {
    ArchiveStrategy.Source source = backup(tag(7), at(7), 2);
    RecordingLog log = new RecordingLog();
    ArchiveStrategy.Stored stored = strategy().store(source, log);

    assertThat(stored.tag()).isEqualTo(tag(7));
    assertThat(stored.bytes()).isPositive();
    assertThat(log.added).as("journaled before writing").isNotEmpty();
    assertThat(log.done).as("and marked done once whole").containsAll(log.added);
    List<ArchiveStrategy.Archived> listed = strategy().list();
    assertThat(listed).extracting(ArchiveStrategy.Archived::tag).containsExactly(tag(7));
    assertThat(listed.get(0).bytes()).isEqualTo(stored.bytes());
    assertThat(listed.get(0).startedAt()).isEqualTo(at(7));
    try (ArchiveStrategy.Reader reader = strategy().open(tag(7))) {
      assertThat(describe(reader)).isEqualTo(describe(source.dir()));
    }
  }

  @Test
  void aNewStrategyObjectListsWhatAnEarlierOneStored() throws Exception {
    ArchiveStrategy first = strategy();
    first.store(backup(tag(1), at(1), 0), UndoLog.NONE);
    first.store(backup(tag(3), at(3), 0), UndoLog.NONE);
    first.store(backup(tag(2), at(2), 0), UndoLog.NONE);

    assertThat(strategy().list()).extracting(ArchiveStrategy.Archived::tag).containsExactly(tag(3), tag(2), tag(1));
  }

  @Test
  void anInterruptedStoreLeavesTheDestinationAsItWas() throws Exception {
    strategy().store(backup(tag(1), at(1), 0), UndoLog.NONE);
    Set<String> before = destinationContents();
    ArchiveStrategy.Source big = backup(tag(2), at(2), 96);
    RecordingLog log = new RecordingLog();
    Thread storing = Thread.currentThread();
    // Once the first undo step is journaled, bytes are on their way; interrupt the store a little later.
    log.onAdd = () -> timer.schedule(storing::interrupt, 50, TimeUnit.MILLISECONDS);

    assertThatThrownBy(() -> strategy().store(big, log))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERRUPTED));
    Thread.interrupted();

    assertThat(strategy().list()).extracting(ArchiveStrategy.Archived::tag).containsExactly(tag(1));
    assertThat(destinationContents()).isEqualTo(before);
    assertThat(log.done).as("its clean-up is marked done").containsAll(log.added);
    for (Undo u : log.added) {
      u.undo(null); // what recover would replay: a no-op now, and no error
    }
    assertThat(destinationContents()).isEqualTo(before);
  }

  @Test
  void deleteIsIdempotent() throws Exception {
    ArchiveStrategy s = strategy();
    s.store(backup(tag(1), at(1), 0), UndoLog.NONE);
    s.store(backup(tag(2), at(2), 0), UndoLog.NONE);

    s.delete(tag(1));
    strategy().delete(tag(1));
    strategy().delete(tag(9));

    assertThat(strategy().list()).extracting(ArchiveStrategy.Archived::tag).containsExactly(tag(2));
  }

  @Test
  void retentionIsIdempotentAndKeepsTheNewestCopy() throws Exception {
    for (int day = 1; day <= 4; day++) {
      strategy().store(backup(tag(day), at(day), 0), UndoLog.NONE);
    }
    ArchiveDestination d = new ArchiveDestination("offsite", strategy(), new Retention.Policy(2, 0, 0, 0));

    Archives.PruneResult plan = Archives.prune(d, true);
    assertThat(plan.removed()).containsExactlyInAnyOrder(tag(1), tag(2));
    assertThat(strategy().list()).hasSize(4);

    assertThat(Archives.prune(d, false).removed()).containsExactlyInAnyOrder(tag(1), tag(2));
    assertThat(Archives.prune(new ArchiveDestination("offsite", strategy(), d.retention()), false).removed()).isEmpty();
    assertThat(strategy().list()).extracting(ArchiveStrategy.Archived::tag).containsExactly(tag(4), tag(3));

    // The strictest rule there is still keeps the newest copy.
    Archives.prune(new ArchiveDestination("offsite", strategy(), new Retention.Policy(0, 0, 0, 1)), false);
    assertThat(strategy().list()).extracting(ArchiveStrategy.Archived::tag).containsExactly(tag(4));
  }

  @Test
  void aDamagedCopyIsRefusedWhileItIsRead() throws Exception {
    strategy().store(backup(tag(5), at(5), 1), UndoLog.NONE);
    damage(tag(5));

    assertThatThrownBy(() -> {
          try (ArchiveStrategy.Reader reader = strategy().open(tag(5))) {
            describe(reader);
          }
        })
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.VERIFICATION));
  }

  @Test
  void openingACopyThatIsNotThereSaysSo() throws Exception {
    assertThatThrownBy(() -> strategy().open(tag(8)))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION);
          assertThat(e.getMessage()).contains(tag(8));
        });
  }

  @Test
  void itsCheckPassesOnAWorkingDestination() throws Exception {
    Findings f = new Findings();
    strategy().check(f);
    assertThat(f.problems()).isEmpty();
  }

  protected static String text(Path p) throws IOException {
    return Files.readString(p, StandardCharsets.UTF_8);
  }

  protected static List<String> names(Path dir) throws IOException {
    List<String> out = new ArrayList<>();
    try (var s = Files.list(dir)) {
      s.forEach(p -> out.add(p.getFileName().toString()));
    }
    return out;
  }
}
