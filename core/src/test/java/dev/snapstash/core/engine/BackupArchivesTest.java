package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RunReport;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.strategy.archive.tar.TarProvider;
import dev.snapstash.strategy.archive.tar.TarSettings;
import dev.snapstash.strategy.database.none.NoDatabaseProvider;
import dev.snapstash.strategy.disk.rsync.RsyncDiskStrategy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup's copies to its archive destinations: made after the unlock from the complete backup, recorded in the
 * manifest, each destination's retention applied; a copy that fails marks the run (manifest, report, ARCHIVE) and
 * leaves the local backup complete. Real rsync and real tar destinations; the quiescer records what it was asked.
 */
class BackupArchivesTest {
  @TempDir Path tmp;
  Path home;
  Path root;
  final List<String> events = new CopyOnWriteArrayList<>();
  final List<RunReport> reports = new CopyOnWriteArrayList<>();
  final RecordingQuiescer quiescer = new RecordingQuiescer(events, () -> tmp.resolve("instance-locked"));

  @BeforeEach
  void home() throws Exception {
    home = tmp.resolve("home");
    root = tmp.resolve("backups");
    Files.createDirectories(home.resolve("shared/data/repositories/1/objects"));
    Files.writeString(home.resolve("shared/bitbucket.properties"), "jdbc.url=jdbc:h2:x\n");
    Files.writeString(home.resolve("shared/data/repositories/1/HEAD"), "ref: refs/heads/main\n");
  }

  @Test
  void aCopyIsMadeAfterTheUnlockFromTheCompleteBackupAndRecorded() throws Exception {
    Path offsite = Files.createDirectories(tmp.resolve("offsite"));
    Manifest m = engine(List.of(destination("offsite", offsite, 0))).backup(Progress.NONE);

    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    assertThat(events).containsSubsequence("lock", "unlock", "archive offsite");
    assertThat(m.archives()).singleElement().satisfies(a -> {
      assertThat(a.ok()).isTrue();
      assertThat(a.destination()).isEqualTo("offsite");
      assertThat(a.type()).isEqualTo("tar");
      assertThat(a.location()).isEqualTo(offsite.resolve(m.tag() + ".tar.zst").toString());
      assertThat(a.bytes()).isEqualTo(Files.size(offsite.resolve(m.tag() + ".tar.zst")));
      assertThat(Files.readString(offsite.resolve(m.tag() + ".tar.zst.sha256"))).startsWith(a.sha256() + "  ");
    });
    assertThat(new BackupStore(root).find(m.tag()).orElseThrow().archives()).isEqualTo(m.archives());
    assertThat(Archives.failure(m)).isEmpty();
    assertThat(reports).singleElement().satisfies(r -> assertThat(r.success()).isTrue());
    assertThat(Journal.file(root)).doesNotExist();
    // The archived manifest is the complete one: the copy holds a backup that restores.
    try (ArchiveStrategy.Reader r = tar(offsite).open(m.tag())) {
      ArchiveStrategy.Member member;
      boolean sawManifest = false;
      while ((member = r.next()) != null) {
        if (member.path().equals(Manifest.FILE)) {
          sawManifest = new String(r.content().readAllBytes()).contains("\"COMPLETE\"");
        }
      }
      assertThat(sawManifest).isTrue();
    }
  }

  @Test
  void aFailedCopyMarksTheRunAndLeavesTheBackupComplete() throws Exception {
    Path good = Files.createDirectories(tmp.resolve("good"));
    Manifest m =
        engine(List.of(destination("gone", tmp.resolve("unmounted"), 0), destination("good", good, 0)))
            .backup(Progress.NONE);

    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    assertThat(new BackupStore(root).list()).extracting(Manifest::tag).containsExactly(m.tag());
    assertThat(root.resolve(m.tag()).resolve("home/shared/data/repositories/1/HEAD")).exists();
    assertThat(m.archives()).extracting(Manifest.Archive::destination, Manifest.Archive::ok)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("gone", false), org.assertj.core.groups.Tuple.tuple("good", true));
    assertThat(m.archives().get(0).error()).contains(tmp.resolve("unmounted").toString());
    assertThat(Archives.failure(m)).hasValueSatisfying(e -> {
      assertThat(e.kind()).isEqualTo(ErrorKind.ARCHIVE);
      assertThat(e.getMessage()).contains(m.tag() + " is complete").contains("1 of 2").contains("gone");
    });
    assertThat(reports).singleElement().satisfies(r -> {
      assertThat(r.success()).isFalse();
      assertThat(r.tag()).isEqualTo(m.tag());
      assertThat(r.error()).contains("gone");
    });
    assertThat(Journal.file(root)).doesNotExist();
  }

  /** The engine runs inside the backup's failure handling, which removes the backup: an archive's bug must not. */
  @Test
  void aBugInAnArchiveStrategyNeverCostsTheBackup() throws Exception {
    ArchiveDestination good = destination("good", Files.createDirectories(tmp.resolve("good")), 1);
    ArchiveStrategy buggy = new ArchiveStrategy() {
      @Override
      public String name() {
        return "buggy";
      }

      @Override
      public void check(Findings findings) {}

      @Override
      public Stored store(Source source, UndoLog undo) {
        throw new IllegalStateException("a bug");
      }

      @Override
      public List<Archived> list() {
        throw new IllegalStateException("a bug");
      }

      @Override
      public Reader open(String tag) {
        throw new IllegalStateException("a bug");
      }

      @Override
      public void delete(String tag) {
        throw new IllegalStateException("a bug");
      }
    };
    Manifest m = engine(List.of(new ArchiveDestination("buggy", buggy, new Retention.Policy(1, 0, 0, 0)), good))
        .backup(Progress.NONE);

    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    assertThat(root.resolve(m.tag()).resolve("home/shared/data/repositories/1/HEAD")).exists();
    assertThat(m.archives()).extracting(Manifest.Archive::ok).containsExactly(false, true);
    assertThat(m.archives().get(0).error()).contains("a bug");
    assertThat(Archives.failure(m)).isPresent();
  }

  @Test
  void eachDestinationKeepsWhatItsOwnRetentionSays() throws Exception {
    Path few = Files.createDirectories(tmp.resolve("few"));
    Path all = Files.createDirectories(tmp.resolve("all"));
    List<ArchiveDestination> destinations = List.of(destination("few", few, 1), destination("all", all, 0));
    Manifest first = engine(destinations).backup(Progress.NONE);
    Manifest second = engine(destinations).backup(Progress.NONE);

    assertThat(second.archives().get(0).pruned()).containsExactly(first.tag());
    assertThat(tar(few).list()).extracting(ArchiveStrategy.Archived::tag).containsExactly(second.tag());
    assertThat(tar(all).list()).extracting(ArchiveStrategy.Archived::tag).containsExactly(second.tag(), first.tag());
    assertThat(new BackupStore(root).list()).hasSize(2);
  }

  private static ArchiveStrategy tar(Path dir) {
    return new TarProvider().create(new TarSettings(dir, 1, 1, List.of(), null), null);
  }

  /** A tar destination, which notes when it is asked to store (to check the order against the lock). */
  private ArchiveDestination destination(String name, Path dir, int keepLast) {
    ArchiveStrategy tar = tar(dir);
    ArchiveStrategy noting = new ArchiveStrategy() {
      @Override
      public String name() {
        return tar.name();
      }

      @Override
      public void check(Findings findings) {
        tar.check(findings);
      }

      @Override
      public Stored store(Source source, UndoLog undo) {
        events.add("archive " + name);
        return tar.store(source, undo);
      }

      @Override
      public List<Archived> list() {
        return tar.list();
      }

      @Override
      public Reader open(String tag) {
        return tar.open(tag);
      }

      @Override
      public void delete(String tag) {
        tar.delete(tag);
      }
    };
    return new ArchiveDestination(name, noting, new Retention.Policy(keepLast, 0, 0, 0));
  }

  private BackupEngine engine(List<ArchiveDestination> archives) {
    Notifier recording = new Notifier() {
      @Override
      public String name() {
        return "recording";
      }

      @Override
      public void check(Findings findings) {}

      @Override
      public void send(RunReport report) {
        reports.add(report);
      }
    };
    return new BackupEngine(
        new BackupEngine.Settings("bb", home, new BackupStore(root), new Retention.Policy(0, 0, 0, 0), false, 0, "test"),
        quiescer,
        new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, new ProcessRunner()),
        new NoDatabaseProvider().create(new dev.snapstash.core.spi.Provider.NoSettings(), null),
        List.of(recording),
        archives,
        Clock.systemUTC(),
        System::nanoTime);
  }
}
