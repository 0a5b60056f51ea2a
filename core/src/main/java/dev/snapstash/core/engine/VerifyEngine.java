package dev.snapstash.core.engine;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.Trees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.LongSupplier;

/**
 * Proves a backup restorable without touching production: checksums, the database dump's own readability, a
 * restore of the dump into a scratch database cross-checked against the repositories (every repository row has
 * its directory and every directory its row; every push recorded in the database has its commit), and {@code git
 * fsck} on a sample of repositories, or all of them with {@code deep}.
 */
public final class VerifyEngine {
  /** One check's outcome. */
  public record Check(String name, boolean ok, String detail) {}

  /** All checks, and which repositories {@code git fsck} looked at. */
  public record Report(String tag, boolean ok, List<Check> checks, List<String> fsckRepositories, boolean deep, long millis) {}

  private final BackupStore store;
  private final DatabaseStrategy database;
  private final Optional<ScratchDatabase.Factory> scratch;
  private final Consistency consistency;
  private final Clock clock;
  private final LongSupplier nanoTime;

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
    this.consistency = new Consistency(runner, random);
    this.clock = clock;
    this.nanoTime = nanoTime;
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

    List<Path> sample = consistency.sample(repos, deep);
    progress.report("verify", 0.7, "git fsck of " + sample.size() + " repositories");
    checks.add(consistency.fsck(sample, repos.size(), deep));
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
        checks.addAll(consistency.database(c, home, repos));
      }
    } catch (SQLException e) {
      checks.add(new Check("repositories-match", false, "cannot query the scratch database: " + e.getMessage()));
    }
    return checks;
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
