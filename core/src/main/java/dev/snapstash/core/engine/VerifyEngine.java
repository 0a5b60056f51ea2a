package dev.snapstash.core.engine;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.spi.ScratchDatabase;
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
 * restore of the dump into a scratch database cross-checked against the repositories (see {@link Consistency}:
 * every repository row whose storage is in the home has its directory and every directory its row; the objects of
 * each repository's newest recorded push are in it; on the sandbox, every push of its ledger has its commit),
 * forks against their origins, and {@code git fsck}: connectivity-only on a sample of repositories, or with {@code
 * deep} a full fsck (every object read) of all of them within a time budget.
 *
 * <p>A budget that runs out is not a failure: the operator chose how long a verification may take, the checksums
 * have still read every file of the backup, and the report, the {@code --json} output and the manifest all say
 * how many repositories were checked. The next deep verification of the same backup starts with the ones this
 * one did not reach, so repeated runs cover it all.
 */
public final class VerifyEngine {
  /** One check's outcome. */
  public record Check(String name, boolean ok, String detail) {}

  /** All checks, which repositories {@code git fsck} looked at, and what it covered. */
  public record Report(
      String tag, boolean ok, List<Check> checks, List<String> fsckRepositories, boolean deep, Manifest.Fsck fsck,
      long millis) {}

  private final BackupStore store;
  private final DatabaseStrategy database;
  private final Optional<ScratchDatabase.Factory> scratch;
  private final Consistency consistency;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final Duration fsckBudget;

  /** @param fsckBudget how long the full fsck of a deep verification may take */
  public VerifyEngine(
      BackupStore store,
      DatabaseStrategy database,
      Optional<ScratchDatabase.Factory> scratch,
      ProcessRunner runner,
      Clock clock,
      LongSupplier nanoTime,
      Random random,
      Duration fsckBudget) {
    this.store = store;
    this.database = database;
    this.scratch = scratch;
    this.consistency = new Consistency(runner, random);
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.fsckBudget = fsckBudget;
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
    if (scratch.isPresent() && database.capabilities().contains(dev.snapstash.core.spi.Capability.SCRATCH_RESTORE)) {
      progress.report("verify", 0.3, "restoring the database into a scratch database");
      checks.addAll(crossCheck(ctx, home, repos));
    }
    consistency.forks(home, repos, Consistency.Home.BACKUP_COPY).ifPresent(checks::add);

    List<Path> fscked;
    Manifest.Fsck coverage;
    if (deep) {
      List<Path> order = leastRecentlyCheckedFirst(repos, m.verification(), home);
      progress.report("verify", 0.7, "full git fsck of " + order.size() + " repositories");
      Consistency.FullFsck full = consistency.fullFsck(order, fsckBudget);
      checks.add(full.check());
      fscked = full.checked();
      coverage =
          new Manifest.Fsck(Manifest.Fsck.FULL, fscked.size(), repos.size(), fsckBudget, full.budgetExhausted());
    } else {
      fscked = consistency.sample(repos, false);
      progress.report("verify", 0.7, "git fsck of " + fscked.size() + " repositories");
      checks.add(consistency.fsck(fscked, repos.size(), false));
      coverage = new Manifest.Fsck(Manifest.Fsck.CONNECTIVITY, fscked.size(), repos.size(), null, false);
    }
    progress.report("verify", 1, "");

    boolean ok = checks.stream().allMatch(Check::ok);
    List<String> names = fscked.stream().map(p -> home.relativize(p).toString()).sorted().toList();
    Report report =
        new Report(
            m.tag(), ok, checks, names, deep, coverage, Duration.ofNanos(nanoTime.getAsLong() - t0).toMillis());
    store.write(m.withVerification(new Manifest.Verification(clock.instant(), ok, deep, names, coverage)));
    return report;
  }

  /**
   * The repositories in the order a full fsck takes them: those the last full fsck of this backup did not reach
   * first, so that deep verifications cut short by their budget cover the whole backup over several runs.
   */
  static List<Path> leastRecentlyCheckedFirst(List<Path> repos, Manifest.Verification last, Path home) {
    if (last == null || last.fsck() == null || !Manifest.Fsck.FULL.equals(last.fsck().mode())) {
      return repos;
    }
    java.util.Set<String> done = new java.util.HashSet<>(last.fsckRepositories());
    List<Path> order = new ArrayList<>();
    repos.stream().filter(p -> !done.contains(home.relativize(p).toString())).forEach(order::add);
    repos.stream().filter(p -> done.contains(home.relativize(p).toString())).forEach(order::add);
    return order;
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
