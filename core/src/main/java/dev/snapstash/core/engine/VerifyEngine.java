package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.Trees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * Proves a backup restorable without touching production: checksums, the database dump's own readability, a
 * restore of the dump into a scratch database cross-checked against the repositories (every repository row has
 * its directory and every directory its row; every push recorded in the database has its commit), and {@code git
 * fsck} on a sample of repositories, or all of them with {@code deep}.
 */
public final class VerifyEngine {
  /** Repositories checked by default: a tenth, at least 3, at most 50. */
  static int sampleSize(int repositories) {
    return Math.min(repositories, Math.min(50, Math.max(3, repositories / 10)));
  }

  /** One check's outcome. */
  public record Check(String name, boolean ok, String detail) {}

  /** All checks, and which repositories {@code git fsck} looked at. */
  public record Report(String tag, boolean ok, List<Check> checks, List<String> fsckRepositories, boolean deep, long millis) {}

  private final BackupStore store;
  private final DatabaseStrategy database;
  private final Optional<ScratchDatabase.Factory> scratch;
  private final ProcessRunner runner;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final Random random;

  public VerifyEngine(
      BackupStore store,
      DatabaseStrategy database,
      Optional<ScratchDatabase.Factory> scratch,
      ProcessRunner runner,
      Clock clock,
      LongSupplier nanoTime,
      Random random) {
    this.store = store;
    this.database = database;
    this.scratch = scratch;
    this.runner = runner;
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.random = random;
  }

  /** Runs every check; throws VERIFICATION listing the failed ones after recording the report in the manifest. */
  public Report verify(String tagOrLatest, boolean deep, Path workDir, Progress progress) {
    long t0 = nanoTime.getAsLong();
    Manifest m = store.resolve(tagOrLatest);
    Path dir = store.dir(m.tag());
    List<Check> checks = new ArrayList<>();
    checks.add(
        new Check("manifest", m.state() == Manifest.State.COMPLETE, "state " + m.state().name().toLowerCase()));

    progress.report("verify", 0.1, "checksums");
    List<String> damaged = Integrity.damaged(m, dir, Runtime.getRuntime().availableProcessors());
    checks.add(
        new Check(
            "checksums",
            damaged.isEmpty(),
            damaged.isEmpty() ? "every file matches" : damaged.size() + " damaged, first " + damaged.get(0)));

    Path home = dir.resolve("home");
    RestoreContext ctx = new RestoreContext(m.tag(), dir, workDir.resolve("home"), false, Progress.NONE);
    progress.report("verify", 0.2, "database dump");
    Findings f = new Findings();
    database.verify(ctx, f);
    checks.add(
        new Check(
            "database-readable",
            !f.hasProblems(),
            f.hasProblems() ? f.problems().get(0).message() : database.name() + " dump reads back"));

    List<Path> repos = Files.isDirectory(home) ? GitLocks.repositories(home) : List.of();
    if (scratch.isPresent() && !database.name().equals("none") && !database.name().equals("collocated")) {
      progress.report("verify", 0.3, "restoring the database into a scratch database");
      checks.addAll(crossCheck(ctx, home, repos));
    }

    List<Path> sample = new ArrayList<>(repos);
    if (!deep) {
      Collections.shuffle(sample, random);
      sample = sample.subList(0, sampleSize(repos.size()));
    }
    progress.report("verify", 0.7, "git fsck of " + sample.size() + " repositories");
    List<String> fsckFailures = fsck(sample);
    checks.add(
        new Check(
            "git-fsck",
            fsckFailures.isEmpty(),
            fsckFailures.isEmpty()
                ? sample.size() + " of " + repos.size() + " repositories connected" + (deep ? "" : " (sample)")
                : fsckFailures.size() + " damaged: " + String.join(", ", fsckFailures)));
    progress.report("verify", 1, "");

    boolean ok = checks.stream().allMatch(Check::ok);
    List<String> names = sample.stream().map(p -> home.relativize(p).toString()).sorted().toList();
    Report report =
        new Report(m.tag(), ok, checks, names, deep, Duration.ofNanos(nanoTime.getAsLong() - t0).toMillis());
    store.write(m.withVerification(new Manifest.Verification(clock.instant(), ok, deep, names)));
    return report;
  }

  private List<Check> crossCheck(RestoreContext ctx, Path home, List<Path> repos) {
    List<Check> checks = new ArrayList<>();
    try (ScratchDatabase db = scratch.get().create(ctx.homeTarget())) {
      try {
        db.strategy().restore(ctx);
        checks.add(new Check("database-restores", true, "restored into a scratch database"));
      } catch (SnapstashException e) {
        checks.add(new Check("database-restores", false, e.getMessage()));
        return checks;
      }
      try (Connection c = db.connect()) {
        Set<String> rows = new TreeSet<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM repository")) {
          while (rs.next()) {
            rows.add(String.valueOf(rs.getLong(1)));
          }
        }
        Set<String> dirs =
            repos.stream()
                .filter(p -> p.getParent().getFileName().toString().equals("repositories"))
                .map(p -> p.getFileName().toString())
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> noDir = new TreeSet<>(rows);
        noDir.removeAll(dirs);
        Set<String> noRow = new TreeSet<>(dirs);
        noRow.removeAll(rows);
        boolean ok = noDir.isEmpty() && noRow.isEmpty();
        checks.add(
            new Check(
                "repositories-match",
                ok,
                ok
                    ? rows.size() + " repositories in the database, each with its directory"
                    : (noDir.isEmpty() ? "" : "rows without a directory: " + noDir + " ")
                        + (noRow.isEmpty() ? "" : "directories without a row: " + noRow)));
        if (hasTable(c, "push_ledger")) {
          checks.add(ledger(c, home));
        }
      }
    } catch (SQLException e) {
      checks.add(new Check("repositories-match", false, "cannot query the scratch database: " + e.getMessage()));
    }
    return checks;
  }

  /** Every push the database recorded must have its commit in the backed-up repository. */
  private Check ledger(Connection c, Path home) throws SQLException {
    List<String> missing = new ArrayList<>();
    int rows = 0;
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT repository_id, new_sha FROM push_ledger")) {
      while (rs.next()) {
        rows++;
        Path repo = home.resolve("shared/data/repositories/" + rs.getLong(1));
        String sha = rs.getString(2);
        if (runner.runAllowingFailure(git(repo, "cat-file", "-e", sha + "^{commit}"), l -> {}).exitCode() != 0) {
          missing.add(rs.getLong(1) + ":" + sha.substring(0, Math.min(12, sha.length())));
        }
      }
    }
    return new Check(
        "pushes-present",
        missing.isEmpty(),
        missing.isEmpty() ? rows + " recorded pushes, each with its commit" : missing.size() + " missing: " + missing);
  }

  private static boolean hasTable(Connection c, String name) throws SQLException {
    DatabaseMetaData md = c.getMetaData();
    for (String n : List.of(name, name.toUpperCase())) {
      try (ResultSet rs = md.getTables(null, null, n, new String[] {"TABLE"})) {
        if (rs.next()) {
          return true;
        }
      }
    }
    return false;
  }

  private List<String> fsck(List<Path> repos) {
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
    try {
      List<Future<?>> all = new ArrayList<>();
      for (Path repo : repos) {
        all.add(
            pool.submit(
                () -> {
                  var r =
                      runner.runAllowingFailure(
                          git(repo, "fsck", "--connectivity-only", "--no-progress", "--no-dangling"), l -> {});
                  if (r.exitCode() != 0) {
                    failures.add(repo.getFileName().toString());
                  }
                }));
      }
      for (Future<?> f : all) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "verification was interrupted", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw SnapstashException.internal("git fsck could not run: " + e.getCause(), e.getCause());
    } finally {
      dev.snapstash.core.util.Pools.stopAndWait(pool, Duration.ofSeconds(30));
    }
    return failures.stream().sorted().toList();
  }

  /** Backups are owned by whoever ran them; git refuses repositories of other owners unless told they are safe. */
  static Command git(Path repo, String... args) {
    List<String> argv = new ArrayList<>(List.of("git", "-c", "safe.directory=*", "--git-dir=" + repo));
    argv.addAll(List.of(args));
    return Command.of(argv).discardingStdout();
  }

  /** Removes the scratch work directory (best effort: verification results stand either way). */
  public static void cleanup(Path workDir) {
    try {
      Trees.deleteRecursively(workDir);
    } catch (SnapstashException e) {
      // left for the operator; the path is in the log
    }
  }
}
