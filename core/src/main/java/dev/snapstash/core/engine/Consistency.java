package dev.snapstash.core.engine;

import dev.snapstash.core.config.Durations;
import dev.snapstash.core.engine.VerifyEngine.Check;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The checks that a database and a home agree, shared by {@code verify} (a scratch restore of a backup) and {@code
 * restore} (the restored result itself): every repository row has its directory and every directory its row,
 * every push the database recorded has its commit, and {@code git fsck}: {@code --connectivity-only} on a sample
 * of repositories, or in full (every object read) on all of them within a time budget. Reads only.
 */
public final class Consistency {
  /** Repositories checked by default: a tenth, at least 3, at most 50. */
  static int sampleSize(int repositories) {
    return Math.min(repositories, Math.min(50, Math.max(3, repositories / 10)));
  }

  private final ProcessRunner runner;
  private final Random random;

  public Consistency(ProcessRunner runner, Random random) {
    this.runner = runner;
    this.random = random;
  }

  /** "repositories-match" and, when the database has a push ledger, "pushes-present", for {@code home}. */
  public List<Check> database(Connection c, Path home, List<Path> repos) {
    List<Check> checks = new ArrayList<>();
    try {
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
    } catch (SQLException e) {
      checks.add(new Check("repositories-match", false, "cannot query the database: " + e.getMessage()));
    }
    return checks;
  }

  /** Every push the database recorded must have its commit in its repository. */
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

  /** The repositories {@link #fsck} looks at: all of them, or a random sample of {@link #sampleSize}. */
  public List<Path> sample(List<Path> repos, boolean all) {
    List<Path> sample = new ArrayList<>(repos);
    if (!all) {
      Collections.shuffle(sample, random);
      sample = new ArrayList<>(sample.subList(0, sampleSize(repos.size())));
    }
    return sample;
  }

  /**
   * What a full fsck covered.
   *
   * @param checked repositories whose fsck ran to the end, damaged or not, in the order they were given
   * @param damaged of those, each damaged one with the first error git reported
   * @param notChecked repositories not checked because the budget ran out (never started, or killed)
   * @param budget the time allowed
   */
  public record FullFsck(List<Path> checked, Map<Path, String> damaged, List<Path> notChecked, Duration budget) {
    public boolean budgetExhausted() {
      return !notChecked.isEmpty();
    }

    /** "git-fsck", failed if any repository is damaged; a budget that ran out is said, not failed. */
    public Check check() {
      int total = checked.size() + notChecked.size();
      String coverage =
          budgetExhausted()
              ? "full fsck of " + checked.size() + " of " + total + " repositories within the budget of "
                  + Durations.format(budget) + "; the rest not checked"
              : "full fsck of " + checked.size() + " of " + total + " repositories, every object read";
      if (damaged.isEmpty()) {
        return new Check("git-fsck", true, coverage);
      }
      Map.Entry<Path, String> first = damaged.entrySet().iterator().next();
      return new Check(
          "git-fsck",
          false,
          damaged.size() + " damaged: "
              + String.join(", ", damaged.keySet().stream().map(p -> p.getFileName().toString()).toList())
              + " (" + first.getKey().getFileName() + ": " + first.getValue() + "); " + coverage);
    }
  }

  /**
   * "git-fsck" in full: {@code git fsck --full} on each of {@code repos}, in that order, several at once. Unlike
   * {@code --connectivity-only} it reads and hashes every object, so it finds an object damaged inside a pack
   * (which a checksum of the backup does not, when the damage was already in the live repository it copied).
   * Bounded by {@code budget}: once it has run out no further fsck starts, and the running ones are stopped with
   * their process trees (by the runner's timeout); those repositories are reported as not checked, not damaged.
   */
  public FullFsck fullFsck(List<Path> repos, Duration budget) {
    // The runner's timeouts are wall-clock, so the budget is too.
    long deadline = System.nanoTime() + budget.toNanos();
    Map<Path, String> damaged = new ConcurrentHashMap<>();
    Set<Path> checked = ConcurrentHashMap.newKeySet();
    runEach(
        repos,
        repo -> {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            return;
          }
          // Rounded up, so that a timeout from the runner always means the deadline has passed.
          Duration timeout = Duration.ofMillis((left + 999_999) / 1_000_000);
          ProcessResult r;
          try {
            r =
                runner.runAllowingFailure(
                    git(repo, "fsck", "--full", "--no-progress", "--no-dangling").withTimeout(timeout), l -> {});
          } catch (SnapstashException e) {
            if (e.kind() == ErrorKind.EXTERNAL_COMMAND && System.nanoTime() - deadline >= 0) {
              return;
            }
            throw e;
          }
          if (r.exitCode() != 0) {
            damaged.put(repo, firstError(r));
          }
          checked.add(repo);
        });
    Map<Path, String> damagedInOrder = new LinkedHashMap<>();
    repos.stream().filter(damaged::containsKey).forEach(p -> damagedInOrder.put(p, damaged.get(p)));
    return new FullFsck(
        repos.stream().filter(checked::contains).toList(),
        damagedInOrder,
        repos.stream().filter(p -> !checked.contains(p)).toList(),
        budget);
  }

  /** git prints notices (an unborn HEAD) before its errors; the first error is what names the damage. */
  private static String firstError(ProcessResult r) {
    List<String> lines = r.stderrTail().lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    return lines.stream()
        .filter(l -> l.startsWith("error:") || l.startsWith("fatal:"))
        .findFirst()
        .or(() -> lines.stream().filter(l -> !l.startsWith("notice:")).findFirst())
        .orElse("git fsck exited with " + r.exitCode());
  }

  /** "git-fsck": {@code git fsck --connectivity-only} on {@code sample} (of {@code total}), in parallel. */
  public Check fsck(List<Path> sample, int total, boolean all) {
    List<String> failures = fsckFailures(sample);
    return new Check(
        "git-fsck",
        failures.isEmpty(),
        failures.isEmpty()
            ? sample.size() + " of " + total + " repositories connected" + (all ? "" : " (sample)")
            : failures.size() + " damaged: " + String.join(", ", failures));
  }

  private List<String> fsckFailures(List<Path> repos) {
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    runEach(
        repos,
        repo -> {
          var r =
              runner.runAllowingFailure(
                  git(repo, "fsck", "--connectivity-only", "--no-progress", "--no-dangling"), l -> {});
          if (r.exitCode() != 0) {
            failures.add(repo.getFileName().toString());
          }
        });
    return failures.stream().sorted().toList();
  }

  /** Runs {@code check} on every repository, one per processor at a time, in the order given. */
  private void runEach(List<Path> repos, Consumer<Path> check) {
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
    try {
      List<Future<?>> all = new ArrayList<>();
      for (Path repo : repos) {
        all.add(pool.submit(() -> check.accept(repo)));
      }
      for (Future<?> f : all) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "verification was interrupted", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof SnapstashException se) {
        throw se;
      }
      throw SnapstashException.internal("git fsck could not run: " + e.getCause(), e.getCause());
    } finally {
      dev.snapstash.core.util.Pools.stopAndWait(pool, Duration.ofSeconds(30));
    }
  }

  /** Backups are owned by whoever ran them; git refuses repositories of other owners unless told they are safe. */
  static Command git(Path repo, String... args) {
    List<String> argv = new ArrayList<>(List.of("git", "-c", "safe.directory=*", "--git-dir=" + repo));
    argv.addAll(List.of(args));
    return Command.of(argv).discardingStdout();
  }
}
