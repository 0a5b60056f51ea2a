package dev.snapstash.strategy.archive.restic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the archive contract does not cover, with the real restic: a wrong password, a missing repository and a
 * missing restic are each one sentence naming the key to fix (and never the password); {@code init: true} creates
 * the repository; a restic backup killed midway leaves no snapshot, and {@code snapstash recover} removes what it
 * left (its lock and packs) and a snapshot a run finished without marking it done.
 */
class ResticArchiveTest {
  static final String PASSWORD = "correct horse battery staple";
  @TempDir Path work;
  Path restic;
  Path repository;
  Path passwordFile;
  Path backups;

  @BeforeEach
  void setUp() throws Exception {
    restic = Tools.require("restic");
    repository = work.resolve("repo");
    passwordFile = Files.writeString(work.resolve("password"), PASSWORD + "\n");
    backups = Files.createDirectories(work.resolve("backups"));
    Files.createDirectories(work.resolve("home"));
  }

  private SnapstashConfig config(String entry) throws Exception {
    String yml =
        "instance:\n  name: bb\n  home: " + work.resolve("home") + "\n"
            + "backup:\n  root: " + backups + "\n"
            + "quiesce:\n  type: none\ndisk:\n  type: none\ndatabase:\n  type: none\n"
            + "archive:\n  - name: offsite\n    type: restic\n    cache-dir: " + work.resolve("cache") + "\n" + entry;
    return ConfigLoader.load(Files.writeString(work.resolve("snapstash.yml"), yml), Map.of());
  }

  private ArchiveStrategy strategy(String entry) throws Exception {
    SnapstashConfig c = config(entry);
    return new ResticProvider().create(
        (ResticSettings) c.archives().get(0).settings(), Services.of(c.instance(), c.backup(), new ProcessRunner()));
  }

  private String entry(Path password) {
    return "    repository: " + repository + "\n    password: ${file:" + password + "}\n    binary: " + restic + "\n";
  }

  private void init() {
    new ProcessRunner().run(resticCommand("init").discardingStdout());
  }

  private Command resticCommand(String... args) {
    List<String> argv = new java.util.ArrayList<>(List.of(restic.toString()));
    argv.addAll(List.of(args));
    argv.addAll(List.of("--cache-dir", work.resolve("cache").toString()));
    return Command.of(argv).withEnv("RESTIC_REPOSITORY", repository.toString()).withEnv("RESTIC_PASSWORD_FILE", passwordFile.toString());
  }

  private ArchiveStrategy.Source source(String tag, int mib) throws Exception {
    Path dir = Files.createDirectories(backups.resolve(tag).resolve("home"));
    Files.writeString(dir.resolve("bitbucket.properties"), "setup.displayName=x\n");
    byte[] chunk = new byte[1 << 20];
    Random r = new Random(1);
    try (var out = Files.newOutputStream(backups.resolve(tag).resolve("database.dump"))) {
      for (int i = 0; i < mib; i++) {
        r.nextBytes(chunk);
        out.write(chunk);
      }
    }
    return new ArchiveStrategy.Source(tag, backups.resolve(tag), Instant.parse("2026-12-07T01:00:00Z"));
  }

  private Set<String> repositoryFiles() throws Exception {
    try (Stream<Path> files = Files.walk(repository)) {
      return files.filter(Files::isRegularFile).map(p -> repository.relativize(p).toString())
          .filter(n -> !n.startsWith("locks/")).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  @Test
  void aWrongPasswordIsOneSentenceNamingItsKey() throws Exception {
    init();
    Path wrong = Files.writeString(work.resolve("wrong"), "Tr0ub4dor&3\n");
    ArchiveStrategy s = strategy(entry(wrong));

    assertThatThrownBy(s::list).isInstanceOfSatisfying(SnapstashException.class, e -> {
      assertThat(e.kind()).isEqualTo(ErrorKind.AUTHENTICATION);
      assertThat(e.getMessage())
          .isEqualTo("the restic repository " + repository + " does not open with the password of archive[].password; fix that secret")
          .doesNotContain("Tr0ub4dor");
    });
    Findings f = new Findings();
    s.check(f);
    assertThat(f.problems()).singleElement().asString().contains("archive[].password");
  }

  @Test
  void aMissingRepositoryNamesResticInitUnlessInitIsSet() throws Exception {
    ArchiveStrategy s = strategy(entry(passwordFile));

    assertThatThrownBy(() -> s.store(source("bb-20261207-010000", 0), UndoLog.NONE))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION);
          assertThat(e.getMessage()).isEqualTo("there is no restic repository at " + repository
              + "; create it with `restic init` (or set archive[].init: true), or fix archive[].repository");
        });
    assertThat(repository).doesNotExist();

    ArchiveStrategy creating = strategy(entry(passwordFile) + "    init: true\n");
    creating.store(source("bb-20261207-010000", 0), UndoLog.NONE);
    assertThat(creating.list()).extracting(ArchiveStrategy.Archived::tag).containsExactly("bb-20261207-010000");
  }

  @Test
  void aMissingResticNamesItsKey() throws Exception {
    ArchiveStrategy s = strategy(
        "    repository: " + repository + "\n    password: ${file:" + passwordFile + "}\n    binary: " + work.resolve("no/restic") + "\n");

    assertThatThrownBy(s::list).isInstanceOfSatisfying(SnapstashException.class, e -> {
      assertThat(e.kind()).isEqualTo(ErrorKind.EXTERNAL_COMMAND);
      assertThat(e.getMessage()).isEqualTo("cannot run restic as '" + work.resolve("no/restic")
          + "' (not installed, or not executable); install restic or fix archive[].binary");
    });
  }

  @Test
  void aKilledResticBackupLeavesNoSnapshotAndRecoverRemovesWhatItLeft() throws Exception {
    init();
    ArchiveStrategy s = strategy(entry(passwordFile));
    s.store(source("bb-20261206-010000", 0), UndoLog.NONE);
    Set<String> before = repositoryFiles();
    String tag = "bb-20261207-010000";
    ArchiveStrategy.Source big = source(tag, 160);
    // The very command the strategy runs (without the index, which changes nothing here), killed with SIGKILL
    // once restic has uploaded a pack: what a power cut or the OOM killer does to it.
    Command backup = ResticCommands.backup(
        new ResticCommands.Target(restic.toString(), repository.toString(), work.resolve("cache")), passwordFile,
        big.dir().getParent(), big.dir().getFileName().toString(), big.dir(), tag, "bb", List.of());
    Process p = new ProcessRunner().start(backup, work.resolve("restic.log"));
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (repositoryFiles().size() <= before.size() + 1 && p.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(p.isAlive()).as("restic still running when its first pack is there").isTrue();
    p.destroyForcibly().waitFor();

    assertThat(s.list()).extracting(ArchiveStrategy.Archived::tag).containsExactly("bb-20261206-010000");
    assertThat(repositoryFiles()).as("packs the killed run uploaded").isNotEqualTo(before);
    assertThat(Files.list(repository.resolve("locks")).count()).as("its lock").isPositive();

    Journal journal = Journal.begin(backups, "archive offsite", tag);
    journal.add(new ForgetPartialSnapshot(restic.toString(), repository.toString(), "${file:" + passwordFile + "}",
        work.resolve("cache"), tag, "bb"));
    journal.close();
    SnapstashConfig c = config(entry(passwordFile));
    RecoverEngine.Report report = new RecoverEngine(
        new BackupStore(backups), Services.of(c.instance(), c.backup(), new ProcessRunner()), List.of(), Clock.systemUTC()).recover();

    assertThat(report.failed()).isEmpty();
    assertThat(report.undone()).hasSize(1);
    assertThat(repositoryFiles()).isEqualTo(before);
    assertThat(Files.list(repository.resolve("locks")).count()).isZero();
    assertThat(Journal.file(backups)).doesNotExist();
    assertThat(s.list()).extracting(ArchiveStrategy.Archived::tag).containsExactly("bb-20261206-010000");
  }

  @Test
  void aStoreInterruptedWhileResticUploadsLeavesTheRepositoryAsItWas() throws Exception {
    init();
    ArchiveStrategy s = strategy(entry(passwordFile));
    s.store(source("bb-20261206-010000", 0), UndoLog.NONE);
    Set<String> before = repositoryFiles();
    ArchiveStrategy.Source big = source("bb-20261207-010000", 160);
    java.util.concurrent.atomic.AtomicReference<Throwable> thrown = new java.util.concurrent.atomic.AtomicReference<>();
    Log log = new Log();
    Thread storing = new Thread(() -> {
      try {
        s.store(big, log);
      } catch (Throwable t) {
        thrown.set(t);
      }
    });
    storing.start();
    long deadline = System.nanoTime() + 60_000_000_000L;
    // Interrupt once restic (not the index, which is written first) has uploaded a pack.
    while (repositoryFiles().size() <= before.size() + 1 && storing.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(storing.isAlive()).isTrue();
    storing.interrupt();
    storing.join(120_000);

    assertThat(thrown.get()).isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERRUPTED));
    assertThat(log.done).containsAll(log.added).isNotEmpty();
    assertThat(repositoryFiles()).isEqualTo(before);
    assertThat(s.list()).extracting(ArchiveStrategy.Archived::tag).containsExactly("bb-20261206-010000");
  }

  static final class Log implements UndoLog {
    final List<dev.snapstash.core.spi.Undo> added = new java.util.concurrent.CopyOnWriteArrayList<>();
    final List<dev.snapstash.core.spi.Undo> done = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public void add(dev.snapstash.core.spi.Undo undo) {
      added.add(undo);
    }

    @Override
    public void done(dev.snapstash.core.spi.Undo undo) {
      done.add(undo);
    }
  }

  @Test
  void modificationTimesComeBackAsStoredNotRoundedAsResticDumpWritesThem() throws Exception {
    init();
    ArchiveStrategy s = strategy(entry(passwordFile));
    ArchiveStrategy.Source src = source("bb-20261207-010000", 0);
    Instant odd = Instant.parse("2020-02-29T12:34:56.789Z");
    Files.setLastModifiedTime(src.dir().resolve("home/bitbucket.properties"), java.nio.file.attribute.FileTime.from(odd));
    s.store(src, UndoLog.NONE);

    Instant read = null;
    try (ArchiveStrategy.Reader r = s.open(src.tag())) {
      ArchiveStrategy.Member m;
      while ((m = r.next()) != null) {
        if (m.path().equals("home/bitbucket.properties")) {
          read = m.modified();
        }
      }
    }
    assertThat(read).isEqualTo(odd);
  }

  @Test
  void recoverForgetsASnapshotWhoseRunWasKilledBeforeItWasMarkedDone() throws Exception {
    init();
    ArchiveStrategy s = strategy(entry(passwordFile));
    String tag = "bb-20261207-010000";
    s.store(source(tag, 1), UndoLog.NONE);
    assertThat(s.list()).hasSize(1);

    new ForgetPartialSnapshot(restic.toString(), repository.toString(), "${file:" + passwordFile + "}", work.resolve("cache"), tag, "bb")
        .undo(null);

    assertThat(s.list()).isEmpty();
    assertThat(new String(new ProcessRunner().run(resticCommand("snapshots", "--json").capturingStdout()).stdout().getBytes()).strip())
        .isEqualTo("[]");
  }

  @Test
  void thePasswordFileIsGoneAfterEveryCommand() throws Exception {
    init();
    ArchiveStrategy s = strategy(entry(passwordFile));
    s.store(source("bb-20261207-010000", 0), UndoLog.NONE);
    try (var r = s.open("bb-20261207-010000")) {
      while (r.next() != null) {
        // read it all
      }
    }
    s.delete("bb-20261207-010000");

    assertThat(backups.resolve(".snapstash-private")).doesNotExist();
    try (Stream<Path> left = Files.walk(backups)) {
      assertThat(left.filter(Files::isRegularFile).map(p -> p.getFileName().toString())).doesNotContain("password");
    }
  }
}
