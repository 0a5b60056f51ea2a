package dev.snapstash.core.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.bitbucket.ScriptedBitbucket;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.engine.Pruner;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.engine.RemovePartialBackup;
import dev.snapstash.core.engine.Retention;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The facade as the CLI uses it, verb by verb, built from a configuration file as a user writes one: real rsync and
 * git on a temporary home with a real bare repository, the command quiescer running {@code true}, no database, and
 * a drill instance that records what it was asked to serve.
 */
class SnapstashTest {
  @TempDir Path tmp;
  Path home;
  Path root;
  Path repo;
  final ProcessRunner runner = new ProcessRunner();

  @BeforeEach
  void home() throws Exception {
    home = tmp.resolve("home");
    root = tmp.resolve("backups");
    repo = home.resolve("shared/data/repositories/1");
    Files.createDirectories(repo.getParent());
    runner.run(Command.of("git", "init", "-q", "--bare", repo.toString()).discardingStdout());
    Files.writeString(home.resolve("shared/bitbucket.properties"), "setup.displayName=test\n");
  }

  private Snapstash snapstash(String baseUrl, DrillInstance drill) throws IOException {
    String yml =
        "instance:\n  name: bb\n  home: " + home + "\n"
            + (baseUrl == null ? "" : "  base-url: " + baseUrl + "\n")
            + "backup:\n  root: " + root + "\n  free-space-margin-mib: 0\n"
            + "quiesce:\n  type: command\n  command:\n    lock: [\"true\"]\n    unlock: [\"true\"]\n"
            + "disk:\n  type: rsync\n"
            + "database:\n  type: none\n"
            + "retention:\n  keep-last: 1\n  after-backup: false\n";
    Path config = tmp.resolve("snapstash.yml");
    Files.writeString(config, yml);
    Snapstash.Builder b = Snapstash.configure(ConfigLoader.load(config, Map.of())).runner(runner).version("test");
    return (drill == null ? b : b.drillInstance(drill)).build();
  }

  private Snapstash snapstash() throws IOException {
    return snapstash(null, null);
  }

  @Test
  void checkFindsNoProblemOnAGoodConfiguration() throws Exception {
    Findings good = snapstash().check();
    assertThat(good.hasProblems()).as(good.all().toString()).isFalse();
    assertThat(good.all()).extracting(Findings.Finding::subject).contains("instance.name", "backup.root");
    assertThat(Snapstash.failure(good)).isEmpty();
  }

  @Test
  void aFailedCheckEndsWithTheFirstProblemsKind() {
    Findings f = new Findings();
    f.ok("instance.name", "bb");
    f.problem("backup.root", "not enough space", ErrorKind.STORAGE);
    f.problem("quiesce.type", "bad", ErrorKind.CONFIG);
    assertThat(Snapstash.failure(f)).get()
        .satisfies(e -> assertThat(e.kind()).isEqualTo(ErrorKind.STORAGE))
        .satisfies(e -> assertThat(e.getMessage()).isEqualTo("2 problem(s) found; the first: backup.root: not enough space"));
  }

  @Test
  void backupListRestoreAndVerifyRoundTrip() throws Exception {
    Snapstash s = snapstash();
    Manifest m = s.backup(Progress.NONE);
    assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
    assertThat(m.snapstashVersion()).as("the builder's version").isEqualTo("test");

    Snapstash.Listing listing = s.list();
    assertThat(listing.root()).isEqualTo(root);
    assertThat(listing.entries()).singleElement().satisfies(e -> {
      assertThat(e.manifest().tag()).isEqualTo(m.tag());
      assertThat(e.run()).isNull();
      assertThat(e.dir()).isEqualTo(root.resolve(m.tag()));
    });

    Path target = tmp.resolve("restored");
    Snapstash.Restored restored = s.restore(Snapstash.RestoreRequest.into("latest", target), Progress.NONE);
    assertThat(restored.report().tag()).isEqualTo(m.tag());
    assertThat(restored.report().homeTarget()).isEqualTo(target.toString());
    assertThat(restored.databaseAddress()).as("no database server was written").isNull();
    assertThat(restored.report().verification().checks()).isNotEmpty();
    assertThat(Snapstash.failure(restored)).as(restored.report().verification().toString()).isEmpty();
    assertThat(target.resolve("shared/data/repositories/1/HEAD")).exists();

    VerifyEngine.Report verified = s.verify(new Snapstash.VerifyRequest("latest", false, null, false), Progress.NONE);
    assertThat(verified.tag()).isEqualTo(m.tag());
    assertThat(verified.ok()).as(verified.checks().toString()).isTrue();
    assertThat(Snapstash.failure(verified)).isEmpty();
  }

  @Test
  void aDamagedBackupFailsVerificationAsAResultWhoseFailureNamesTheCheck() throws Exception {
    Snapstash s = snapstash();
    Manifest m = s.backup(Progress.NONE);
    Path copy = root.resolve(m.tag()).resolve("home/shared/bitbucket.properties");
    Files.writeString(copy, "setup.displayName=damaged\n");

    VerifyEngine.Report report = s.verify(new Snapstash.VerifyRequest(m.tag(), false, null, false), Progress.NONE);
    assertThat(report.ok()).isFalse();
    assertThat(Snapstash.failure(report)).get()
        .satisfies(e -> assertThat(e.kind()).isEqualTo(ErrorKind.VERIFICATION))
        .satisfies(e -> assertThat(e.getMessage()).startsWith("backup " + m.tag() + " failed verification: checksums: "));
  }

  @Test
  void theRestorePlanDefaultsToTheConfiguredHomeAndWritesNothing() throws Exception {
    Snapstash s = snapstash();
    s.backup(Progress.NONE);
    Snapstash.RestorePlan plan =
        s.planRestore(new Snapstash.RestoreRequest("latest", null, null, true, false, true, false));
    assertThat(plan.homeTarget()).isEqualTo(home);
    assertThat(plan.request().force()).isTrue();
    assertThat(s.resolveTag("latest")).isEqualTo(s.list().entries().get(0).manifest().tag());
    assertThatThrownBy(() -> s.resolveTag("bb-20000101-000000"))
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.PRECONDITION);
  }

  /**
   * The restore refuses to write into the home of the instance that answers at instance.base-url, even with
   * --force; restored elsewhere, the instance is not even asked.
   */
  @Test
  void aRestoreIntoTheHomeOfAnInstanceThatAnswersIsRefusedAndElsewhereItIsNotAsked() throws Exception {
    try (ScriptedBitbucket bitbucket = new ScriptedBitbucket()) {
      Snapstash s = snapstash(bitbucket.baseUrl().toString(), null);
      Manifest m = s.backup(Progress.NONE);
      String marker = Files.readString(home.resolve("shared/bitbucket.properties"));

      assertThatThrownBy(
              () -> s.restore(new Snapstash.RestoreRequest(m.tag(), null, null, true, false, true, false), Progress.NONE))
          .isInstanceOf(SnapstashException.class)
          .hasMessageContaining("Bitbucket 8.19.1 answers")
          .hasMessageContaining("(instance.base-url), and this restore would write into its home " + home)
          .extracting(e -> ((SnapstashException) e).kind())
          .isEqualTo(ErrorKind.PRECONDITION);
      assertThat(home.resolve("shared/bitbucket.properties")).hasContent(marker);
      String asked = "GET /bitbucket/rest/api/1.0/application-properties";
      long before = bitbucket.count(asked);
      assertThat(before).isPositive();

      s.restore(Snapstash.RestoreRequest.into(m.tag(), tmp.resolve("elsewhere")), Progress.NONE);
      assertThat(bitbucket.count(asked)).as("not asked for a restore elsewhere").isEqualTo(before);
    }
  }

  @Test
  void aJdbcUrlThatCarriesAPasswordIsRefusedWhenPlanned() throws Exception {
    Snapstash s = snapstash();
    assertThatThrownBy(
            () -> s.planRestore(new Snapstash.RestoreRequest(
                "latest", tmp.resolve("t"), "jdbc:postgresql://db:5432/bb?password=secret", false, false, true, false)))
        .isInstanceOf(SnapstashException.class)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("secret"));
    assertThat(tmp.resolve("t")).doesNotExist();
  }

  @Test
  void pruneKeepsByThePolicyAndRefusesNoRuleAtAll() throws Exception {
    Snapstash s = snapstash();
    Manifest first = s.backup(Progress.NONE);
    Manifest second = s.backup(Progress.NONE);
    assertThat(s.configuredRetention()).isEqualTo(new Retention.Policy(1, 0, 0, 0));

    Pruner.Result dry = s.prune(s.configuredRetention(), true);
    assertThat(dry.removed()).containsExactly(first.tag());
    assertThat(root.resolve(first.tag())).exists();

    Pruner.Result done = s.prune(s.configuredRetention(), false);
    assertThat(done.removed()).containsExactly(first.tag());
    assertThat(s.list().entries()).extracting(e -> e.manifest().tag()).containsExactly(second.tag());

    assertThatThrownBy(() -> s.prune(new Retention.Policy(0, 0, 0, 0), false))
        .hasMessageContaining("no retention rule")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.USAGE);
  }

  @Test
  void recoverFinishesTheCleanUpOfADeadRunAndOnlyThen() throws Exception {
    Snapstash s = snapstash();
    assertThat(s.recoverLeftover()).isEmpty();
    assertThat(s.recover().undone()).isEmpty();

    String tag = "bb-20260101-000000";
    Path partial = Files.createDirectories(root.resolve(tag));
    Journal journal = Journal.begin(root, "backup", tag);
    journal.add(new RemovePartialBackup(tag, partial));
    journal.close(); // a run that died: the journal stays

    Optional<RecoverEngine.Report> recovered = s.recoverLeftover();
    assertThat(recovered).get().satisfies(r -> {
      assertThat(r.tag()).isEqualTo(tag);
      assertThat(r.undone()).containsExactly("remove the partial backup " + tag);
    });
    assertThat(partial).doesNotExist();
    assertThat(Journal.file(root)).doesNotExist();
  }

  /** A drill restores into scratch space, starts the given instance on the copy, and times the clones. */
  @Test
  void aDrillServesTheRestoredCopyAndVerifyAddsItsChecks() throws Exception {
    RecordingInstance instance = new RecordingInstance();
    Snapstash s = snapstash("https://bitbucket.example.com/bitbucket", instance);
    Manifest m = s.backup(Progress.NONE);

    Snapstash.DrillReport drill = s.drill("latest");
    assertThat(drill.tag()).isEqualTo(m.tag());
    assertThat(drill.ok()).as(drill.checks().toString()).isTrue();
    assertThat(drill.checks()).extracting(VerifyEngine.Check::name)
        .startsWith("drill-restore")
        .endsWith("drill-clone", "drill-rto");
    assertThat(drill.checks()).filteredOn(c -> c.name().equals("drill-clone"))
        .singleElement().satisfies(c -> assertThat(c.detail()).startsWith("1 repositories cloned"));
    assertThat(instance.launches).singleElement().satisfies(l -> {
      assertThat(l.baseUrl()).hasToString("https://bitbucket.example.com/bitbucket");
      assertThat(l.embeddedDatabase()).as("no database in the home").isNull();
    });
    assertThat(instance.sawRepository).as("the instance was started on the restored copy").isTrue();
    assertThat(instance.closed).isTrue();
    assertThat(instance.launches.get(0).home()).as("scratch space is removed").doesNotExist();

    VerifyEngine.Report verified = s.verify(new Snapstash.VerifyRequest(m.tag(), false, null, true), Progress.NONE);
    assertThat(verified.ok()).as(verified.checks().toString()).isTrue();
    assertThat(verified.checks()).extracting(VerifyEngine.Check::name).contains("checksums", "drill-restore", "drill-rto");
  }

  @Test
  void aDrillThatCannotStartItsInstanceIsAFailedCheckAndWithoutAnInstanceItIsRefused() throws Exception {
    Snapstash failing = snapstash(null, launch -> {
      throw new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "the instance would not start");
    });
    failing.backup(Progress.NONE);
    Snapstash.DrillReport drill = failing.drill("latest");
    assertThat(drill.ok()).isFalse();
    assertThat(drill.checks()).last().isEqualTo(new VerifyEngine.Check("drill", false, "the instance would not start"));

    Snapstash without = snapstash();
    assertThatThrownBy(() -> without.drill("latest"))
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.PRECONDITION);
    assertThatThrownBy(() -> without.verify(new Snapstash.VerifyRequest("latest", false, null, true), Progress.NONE))
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.PRECONDITION);
  }

  /** Serves nothing: records where it was started and lists the restored repositories as if it cloned them. */
  static final class RecordingInstance implements DrillInstance {
    final List<Launch> launches = new ArrayList<>();
    boolean sawRepository;
    boolean closed;

    @Override
    public Running start(Launch launch) {
      launches.add(launch);
      return new Running() {
        @Override
        public List<String> cloneAll(Path into) throws IOException {
          Path repositories = launch.home().resolve("shared/data/repositories");
          sawRepository = Files.isRegularFile(repositories.resolve("1/HEAD"));
          try (Stream<Path> s = Files.list(repositories)) {
            return s.map(p -> "PROJECT/" + p.getFileName()).toList();
          }
        }

        @Override
        public void close() {
          closed = true;
        }
      };
    }
  }
}
