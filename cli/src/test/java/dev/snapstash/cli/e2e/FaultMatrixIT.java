package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.sandbox.load.LoadGenerator;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fault-injection matrix of issue 6: the real jar, stopped at each {@link FaultPoints named point} of a backup
 * (PostgreSQL database, rsync home, the Bitbucket lock) while git clients push to the sandbox, then killed with
 * SIGKILL (no clean-up runs: the journal and {@code recover} must finish it) or SIGTERM (the process cleans up
 * itself). One sandbox for the whole class: every point leaves it clean for the next, which is itself part of
 * what is tested.
 */
class FaultMatrixIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();

  @TempDir static Path tmp;

  private static Scenario s;
  private static Path config;
  private static final ProcessRunner RUNNER = new ProcessRunner();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /**
   * What a point leaves behind when the process is SIGKILLed there. Adding a point is one line here; {@link
   * #everyFaultPointHasARow()} keeps the table and {@link FaultPoints#ALL} in step.
   *
   * @param locked the instance is still locked after the kill (until {@code recover})
   * @param journal a crash journal is left, so the next backup refuses until {@code recover}
   * @param pending why no configuration of this build reaches the point, or null
   */
  record Point(String name, boolean locked, boolean journal, String pending) {
    static Point reached(String name, boolean locked, boolean journal) {
      return new Point(name, locked, journal, null);
    }

    static Point pending(String name, String why) {
      return new Point(name, false, false, why);
    }

    /** A point another test class drives, with the configuration that reaches it; not run here. */
    static Point elsewhere(String name, String testClass) {
      return new Point(name, false, false, ELSEWHERE + testClass);
    }

    /**
     * Rows another class covers, and rows no configuration reaches yet, are not run here: a skipped test would
     * read as a gap in CI. {@link #everyFaultPointHasARow()} still holds them to the list of points.
     */
    boolean runHere() {
      return pending == null;
    }

    private static final String ELSEWHERE = "covered by ";

    @Override
    public String toString() {
      return name;
    }
  }

  static final List<Point> POINTS =
      List.of(
          Point.reached(FaultPoints.AFTER_LOCK, true, true),
          Point.reached(FaultPoints.DURING_DRAIN, true, true),
          Point.reached(FaultPoints.DURING_DATABASE_COPY, true, true),
          Point.reached(FaultPoints.DURING_HOME_COPY, true, true),
          // No disk strategy in this build freezes a filesystem (btrfs snapshots need no freeze; EBS will): FreezerIT
          // holds a child JVM there through the real Freezer and kills its process group, or its cgroup.
          Point.elsewhere(FaultPoints.WHILE_FROZEN, "FreezerIT"),
          // Reached only with the home on btrfs: BtrfsBackupIT kills and signals the run there.
          Point.elsewhere(FaultPoints.AFTER_SNAPSHOT, "BtrfsBackupIT"),
          Point.reached(FaultPoints.AFTER_COPY_UNDER_LOCK, true, true),
          Point.reached(FaultPoints.BEFORE_UNLOCK, true, true),
          Point.reached(FaultPoints.AFTER_UNLOCK_ANSWERED, false, true),
          Point.reached(FaultPoints.BEFORE_DATABASE_DUMP, false, true),
          // The backup is complete and its journal gone before retention starts: nothing to recover.
          Point.reached(FaultPoints.DURING_RETENTION, false, false));

  /** All points; {@code -Dfaultmatrix.points=a,b} narrows a run to some while debugging one. */
  static Stream<Point> points() {
    String only = System.getProperty("faultmatrix.points", "");
    return POINTS.stream()
        .filter(Point::runHere)
        .filter(p -> only.isBlank() || List.of(only.split(",")).contains(p.name()));
  }

  @BeforeAll
  static void startSandbox() throws Exception {
    TestDatabase db = PG.newDatabase();
    s = Scenario.start(tmp.resolve("sb"), DbKind.POSTGRESQL, db);
    // Keep one backup: every good backup then prunes the one before it, so the retention point is reached on
    // every run and the backup root stays small however many points run.
    config = tmp.resolve("matrix.yml");
    Files.writeString(config, Files.readString(s.config()) + "retention:\n  keep-last: 1\n  after-backup: true\n");
    Scenario.Run first = snapstash("-c", config.toString(), "backup");
    assertThat(first.exit()).as(first.err()).isZero();
  }

  @AfterAll
  static void stopSandbox() {
    if (s != null) {
      s.close();
    }
  }

  @Test
  void everyFaultPointHasARow() {
    assertThat(POINTS.stream().map(Point::name).toList()).containsExactlyElementsOf(FaultPoints.ALL);
  }

  @ParameterizedTest(name = "SIGKILL at {0}")
  @MethodSource("points")
  void sigkillAtEachPointIsRecovered(Point point) throws Exception {
    List<String> before = completeTags();
    Load load = Load.start("kill-" + point.name());
    try {
      Stopped run = runUntil(point.name());
      run.kill();

      assertThat(s.sandbox.maintenance().isLocked()).as("SIGKILL runs no clean-up: locked at " + point.name()).isEqualTo(point.locked());
      assertThat(Journal.file(s.backups())).as("journal left by a run killed at " + point.name()).matches(j -> Files.exists(j) == point.journal());
      if (point.name().equals(FaultPoints.DURING_RETENTION)) {
        // The new backup is complete; the one being pruned left the list in one rename and waits, renamed, for
        // the next prune.
        assertThat(before).hasSize(1);
        List<String> now = completeTags();
        assertThat(now).as("only the new backup is listed").hasSize(1).doesNotContainAnyElementsOf(before);
        assertThat(leftovers())
            .extracting(p -> p.getFileName().toString())
            .filteredOn(n -> n.startsWith(".removing-")) // not the killed run's .barrier-*, swept by the next run
            .containsExactly(".removing-" + before.get(0));
      }
      if (point.journal()) {
        Scenario.Run refused = snapstash("-c", config.toString(), "backup");
        assertThat(refused.exit()).as(refused.err()).isEqualTo(7);
        assertThat(refused.err()).contains("snapstash recover");
        assertThat(s.sandbox.maintenance().isLocked()).as("the refusal changed nothing").isEqualTo(point.locked());
      }

      Scenario.Run recover = snapstash("-c", config.toString(), "recover");
      assertThat(recover.exit()).as(recover.err()).isZero();
      assertThat(recover.out()).contains(point.journal() ? "remove the partial backup" : "nothing to recover");
      assertUnlocked("after recover: " + recover.out());
      assertThat(Journal.file(s.backups())).doesNotExist();
      assertNoPartialBackup();
      if (point.journal()) {
        assertThat(completeTags()).as("recover removed the killed run's backup and nothing else").isEqualTo(before);
      }
      // The fault and its recovery ran under load; the proof that all is well again need not (it would only
      // share two cores with the clients, and the backup under load is BackupUnderLoadIT's subject).
      load.assertPushed(point.locked());

      Scenario.Run next = snapstash("-c", config.toString(), "backup");
      assertThat(next.exit()).as(next.err()).isZero();
      Scenario.Run verify = snapstash("-c", config.toString(), "verify");
      assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
      assertNoPartialBackup();
      assertThat(leftovers()).as("an interrupted prune is finished by the next one").isEmpty();
    } finally {
      load.stop();
    }
  }

  /**
   * With every native fast path off in the signalled jar (see {@link #NATIVES_OFF}), so that the fallbacks run
   * under faults too without a second pass over the whole matrix.
   */
  @ParameterizedTest(name = "SIGTERM at {0}, natives off")
  @MethodSource("points")
  void sigtermAtEachPointCleansUpWithoutRecover(Point point) throws Exception {
    List<String> before = completeTags();
    Load load = Load.start("term-" + point.name());
    try {
      Stopped run = stopAt(config, point.name(), tmp, NATIVES_OFF);
      int exit = run.terminate();
      load.assertPushed(false);

      String log = Files.readString(run.log());
      // Interrupted runs end with 130; at during-retention the backup was already complete, and stays a success.
      assertThat(exit).as("exit code after a SIGTERM at %s:%n%s", point.name(), log).isEqualTo(point.journal() ? 130 : 0);
      assertUnlocked("journal " + (Files.exists(Journal.file(s.backups())) ? "kept" : "gone") + ", the run said:\n" + log);
      assertThat(Journal.file(s.backups())).as("no journal after a SIGTERM at %s:%n%s", point.name(), log).doesNotExist();
      assertNoPartialBackup();
      // Every point comes after the tracker's start, which says once which fallback it took.
      assertThat(log).as("the run took the fallbacks").contains("inotify: ").contains(NATIVES_OFF.get(0).substring(2));
      if (point.journal()) {
        assertThat(log).contains("interrupted");
        assertThat(completeTags()).as("the interrupted run left no backup: %s", log).isEqualTo(before);
      } else {
        assertThat(completeTags()).as("retention runs after the backup is complete").hasSize(1).doesNotContainAnyElementsOf(before);
      }
      assertThat(leftovers()).isEmpty();
    } finally {
      load.stop();
    }
  }

  // ---- push load ----------------------------------------------------------------------------------------------

  /**
   * Three git clients pushing, started afresh for each point (they continue the branches the last run left) and
   * stopped once the fault has played out: the run up to its fault point, the kill and the recovery run under load.
   */
  record Load(Thread thread, AtomicBoolean stopping, AtomicReference<LoadGenerator.Result> result, AtomicReference<Throwable> error) {
    /** Only a bound in case a test forgets to stop it. */
    private static final Duration LIMIT = Duration.ofMinutes(2);

    static Load start(String name) throws Exception {
      Path ledger = tmp.resolve("ledger-" + name + ".jsonl");
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<LoadGenerator.Result> result = new AtomicReference<>();
      AtomicReference<Throwable> error = new AtomicReference<>();
      LoadGenerator.Options o =
          new LoadGenerator.Options(
              s.sandbox.baseUrl(), "admin", s.sandbox.adminPassword(), 3, LIMIT, 100_000, ledger, tmp.resolve("load-" + name));
      Thread t =
          new Thread(
              () -> {
                try {
                  result.set(new LoadGenerator(RUNNER, Clock.systemUTC()).run(o, stop::get));
                } catch (Throwable e) {
                  error.set(e);
                }
              },
              "load " + name);
      t.start();
      // The backup starts only once pushes are being acknowledged.
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (!Files.exists(ledger) || Files.size(ledger) == 0) {
        assertThat(t.isAlive() && System.nanoTime() < deadline).as("load is pushing: %s", error.get()).isTrue();
        Thread.sleep(20);
      }
      return new Load(t, stop, result, error);
    }

    void stop() throws InterruptedException {
      stopping.set(true);
      thread.join(60_000);
    }

    /** Pushes went on during the whole point; any push refused other than with 503 (locked) is a failure. */
    void assertPushed(boolean sawTheLock) throws Exception {
      stop();
      assertThat(error.get()).as("the load run").isNull();
      assertThat(result.get().pushes()).as("pushes acknowledged").isPositive();
      assertThat(result.get().failed()).as("pushes that failed other than with 503 while locked").isZero();
      if (sawTheLock) {
        assertThat(result.get().refused()).as("pushes refused with 503 while the instance was locked").isPositive();
      }
    }
  }

  // ---- the backup process ----------------------------------------------------------------------------------

  /**
   * {@code java -jar snapstash.jar -c CONFIG backup}, told to stop at {@code point} and say so in {@code marker}:
   * armed by the variable and the JVM property together, as only a test does.
   */
  static Command backupStoppingAt(Path java, Path jar, Path config, String point, Path marker, List<String> natives) {
    List<String> argv = new ArrayList<>(List.of(java.toString(), "-D" + FaultPoints.PROPERTY + "=" + FaultPoints.ARMED));
    argv.addAll(natives);
    argv.addAll(List.of("-jar", jar.toString(), "-c", config.toString(), "backup"));
    return Command.of(argv)
        .withEnv(FaultPoints.ENV, point)
        .withEnv(FaultPoints.MARKER_ENV, marker.toString());
  }

  /**
   * A stray {@code SNAPSTASH_FAULT_POINT} in production (or the JVM property without it) must not hold the
   * instance locked for the hold's ten minutes: {@code check} and {@code backup} refuse before any lock, naming
   * what to unset.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"variable alone", "property alone", "property not armed"})
  void faultInjectionHalfArmedIsRefusedBeforeTheLock(String how) throws Exception {
    List<String> before = completeTags();
    String lastTask = s.sandbox.maintenance().task().map(t -> t.id()).orElse(null);
    Path jar = Path.of("target/snapstash.jar");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    for (String verb : List.of("check", "backup")) {
      List<String> argv = new ArrayList<>(List.of(java.toString()));
      argv.addAll(Scenario.nativeSwitch());
      if (!how.equals("variable alone")) {
        argv.add("-D" + FaultPoints.PROPERTY + "=" + (how.equals("property alone") ? FaultPoints.ARMED : "true"));
      }
      argv.addAll(List.of("-jar", jar.toString(), "-c", config.toString(), verb));
      Command c = Command.of(argv);
      if (!how.equals("property alone")) {
        c = c.withEnv(FaultPoints.ENV, FaultPoints.AFTER_LOCK);
      }
      Path log = tmp.resolve("half-armed-" + verb + "-" + System.nanoTime() + ".log");
      Files.createFile(log);
      Process p = RUNNER.start(c, log);
      boolean ended = p.waitFor(90, TimeUnit.SECONDS);
      if (!ended) {
        p.destroyForcibly().waitFor();
      }
      String out = Files.readString(log);
      assertThat(ended).as("%s %s ended by itself (a held fault point would not):%n%s", how, verb, out).isTrue();
      assertThat(p.exitValue()).as(out).isEqualTo(7);
      assertThat(out).contains(FaultPoints.ENV, how.equals("variable alone") ? "unset" : FaultPoints.PROPERTY);
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();
    }
    assertThat(s.sandbox.maintenance().task().map(t -> t.id()).orElse(null)).as("never locked: no new backup task").isEqualTo(lastTask);
    assertThat(completeTags()).isEqualTo(before);
    assertNoPartialBackup();
  }

  /** A backup process held at a fault point. */
  record Stopped(Process process, Path log) {
    void kill() throws Exception {
      // SIGKILL to the JVM, then to what it had started (rsync, pg_dump), as a service manager killing the unit
      // does; a lone orphaned child would otherwise keep writing into the partial backup while recover removes it.
      List<ProcessHandle> children = process.descendants().toList();
      process.destroyForcibly();
      children.forEach(ProcessHandle::destroyForcibly);
      process.onExit().get(30, TimeUnit.SECONDS);
    }

    /** SIGTERM: the shutdown hook interrupts the run, which cleans up and exits; returns the exit code. */
    int terminate() throws Exception {
      process.destroy();
      return process.onExit().get(120, TimeUnit.SECONDS).exitValue();
    }
  }

  private Stopped runUntil(String point) throws Exception {
    return stopAt(config, point, tmp);
  }

  /**
   * The switch that turns every native fast path off in a backup jar. The SIGKILL rows run natives on (unless the
   * whole run has them off) and the SIGTERM rows off: each point then runs once each way, which a second pass of
   * the matrix with natives off (four and a half minutes on two cores) only repeated.
   */
  static final List<String> NATIVES_OFF = List.of("-D" + dev.snapstash.core.util.Natives.PROPERTY + "=off");

  /** The real jar backing up with {@code config}, held at {@code point}; its marker and log go into {@code work}. */
  static Stopped stopAt(Path config, String point, Path work) throws Exception {
    return stopAt(config, point, work, Scenario.nativeSwitch());
  }

  /** As {@link #stopAt(Path, String, Path)}, the jar started with {@code natives} (a {@link #NATIVES_OFF} or none). */
  static Stopped stopAt(Path config, String point, Path work, List<String> natives) throws Exception {
    Path jar = Path.of("target/snapstash.jar");
    assertThat(jar).as("the shaded jar (built by package)").exists();
    Path marker = work.resolve("marker-" + point + "-" + System.nanoTime());
    Path log = work.resolve("backup-" + point + "-" + System.nanoTime() + ".log");
    Files.createFile(log);
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p = RUNNER.start(backupStoppingAt(java, jar, config, point, marker, natives), log);
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!Files.exists(marker)) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        p.destroyForcibly();
        throw new AssertionError("the backup never reached " + point + ":\n" + Files.readString(log));
      }
      Thread.sleep(50);
    }
    assertThat(Files.readString(marker)).isEqualTo(point + " " + p.pid() + "\n");
    return new Stopped(p, log);
  }

  // ---- what must hold after every fault ----------------------------------------------------------------------

  /** Unlocked as the instance reports it over HTTP, not only in the sandbox's memory: REST answers again. */
  private static void assertUnlocked(String context) throws Exception {
    assertThat(s.sandbox.maintenance().isLocked()).as("the instance is unlocked; %s", context).isFalse();
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(s.sandbox.baseUrl() + "/rest/api/1.0/application-properties")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("REST answers once unlocked: %s", r.body()).isEqualTo(200);
  }

  /** Every directory under the root is a listed, complete backup; {@code list} shows nothing in progress. */
  private static void assertNoPartialBackup() throws Exception {
    JsonNode list = snapstash("-c", config.toString(), "--json", "list").json();
    List<String> listed = new ArrayList<>();
    for (JsonNode m : list) {
      assertThat(m.path("state").asText().toLowerCase(Locale.ROOT)).as("state of %s", m.path("tag").asText()).isEqualTo("complete");
      listed.add(m.path("tag").asText());
    }
    List<String> dirs =
        s.backupDirs().stream().map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
    assertThat(dirs).as("backup directories").containsExactlyInAnyOrderElementsOf(listed);
  }

  private static List<String> completeTags() throws Exception {
    List<String> tags = new ArrayList<>();
    for (JsonNode m : snapstash("-c", config.toString(), "--json", "list").json()) {
      if (m.path("state").asText().equalsIgnoreCase("complete")) {
        tags.add(m.path("tag").asText());
      }
    }
    return tags;
  }

  /** Directories of backups whose removal was interrupted. */
  private static List<Path> leftovers() throws Exception {
    return s.backupDirs().stream().filter(p -> p.getFileName().toString().startsWith(".")).toList();
  }
}
