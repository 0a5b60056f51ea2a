package dev.snapstash.core.engine;

import dev.snapstash.core.config.Durations;
import dev.snapstash.core.engine.VerifyEngine.Check;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * The checks that a database and a home agree, shared by {@code verify} (a scratch restore of a backup), {@code
 * restore} (the restored result itself) and {@code verify --drill}: every repository row whose Git storage belongs
 * in this home has its directory and every directory its row ({@code repositories-match}); the objects of each
 * repository's newest push recorded in Bitbucket's own tables are in it ({@code latest-pushes-present}); on the
 * sandbox, every push of its {@code push_ledger} has its commit ({@code pushes-present}); forks find their origin's
 * objects in this home ({@code fork-alternates}); and {@code git fsck}: {@code --connectivity-only} on a sample of
 * repositories, or in full (every object read) on all of them within a time budget. Reads only.
 *
 * <p>Built for instances with thousands of repositories: one query per check, at most one Git process per
 * repository per check, several at once (one per processor), each with a time limit.
 */
public final class Consistency {
  /** Repositories checked by default: a tenth, at least 3, at most 50. */
  static int sampleSize(int repositories) {
    return Math.min(repositories, Math.min(50, Math.max(3, repositories / 10)));
  }

  /** Ids listed in a check's detail; the rest are counted. */
  private static final int LISTED = 20;

  /**
   * Git's default {@code gc.pruneExpire}: {@code git gc} removes an unreachable object only once it is this old.
   * A newest push older than this, relative to the newest push of the whole database (about when the backup was
   * taken), whose ref is gone from the repository may have lost its objects honestly: the branch was deleted in
   * the UI (which records no push), after a squash or rebase merge say, and {@code git gc} pruned it.
   */
  static final Duration PRUNE_GRACE = Duration.ofDays(14);

  /** How long one {@code git cat-file --batch-check} may take: a few lookups, unless the disk hangs. */
  static final Duration LOOKUP_TIMEOUT = Duration.ofMinutes(5);

  /** What the home being checked is, which decides what a fork's alternates may name. */
  public enum Home {
    /**
     * A home restored to be started: a fork whose alternates name a path outside it is a finding (Bitbucket would
     * read another home's objects, or fail to find them).
     */
    RESTORED,
    /**
     * A backup's copy of the home, checked where it lies: its forks' alternates name the home it was copied from,
     * as they should; what matters is that the origin was copied too.
     */
    BACKUP_COPY
  }

  private final ProcessRunner runner;
  private final Random random;

  public Consistency(ProcessRunner runner, Random random) {
    this.runner = runner;
    this.random = random;
  }

  /**
   * "repositories-match"; "latest-pushes-present" when the database has Bitbucket's push tables; and
   * "pushes-present" when it has the sandbox's {@code push_ledger}: for {@code home}, whose repositories are
   * {@code repos}.
   */
  public List<Check> database(Connection c, Path home, List<Path> repos) {
    List<Check> checks = new ArrayList<>();
    Map<Long, Path> dirs = new TreeMap<>();
    List<Path> unnamed = new ArrayList<>();
    for (Path p : repos) {
      if (p.getParent() == null || !p.getParent().getFileName().toString().equals("repositories")) {
        continue;
      }
      Long id = repositoryId(p);
      if (id == null) {
        unnamed.add(p);
      } else {
        dirs.put(id, p);
      }
    }
    List<BitbucketTables.RepositoryRow> rows;
    try {
      rows = BitbucketTables.repositories(c);
    } catch (SQLException e) {
      checks.add(new Check("repositories-match", false, "cannot query the database: " + e.getMessage()));
      return checks;
    }
    checks.add(repositoriesMatch(rows, dirs, unnamed));

    // What the push check looks into: rows with their directory here, whatever their state, so that a wrong guess
    // at AVAILABLE's number narrows nothing; data-store and Mesh rows name storage elsewhere.
    Map<Long, Path> here = new TreeMap<>();
    for (BitbucketTables.RepositoryRow r : rows) {
      BitbucketTables.Storage s = r.storage();
      if ((s == BitbucketTables.Storage.HOME || s == BitbucketTables.Storage.NOT_AVAILABLE) && dirs.containsKey(r.id())) {
        here.put(r.id(), dirs.get(r.id()));
      }
    }
    try {
      boolean pushTables = true;
      for (String t : BitbucketTables.PUSH_TABLES) {
        pushTables &= BitbucketTables.hasTable(c, t);
      }
      if (pushTables) {
        checks.add(latestPushes(c, here));
      }
    } catch (SQLException e) {
      checks.add(new Check("latest-pushes-present", false, "cannot query the database: " + e.getMessage()));
    }
    try {
      if (BitbucketTables.hasTable(c, "push_ledger")) {
        checks.add(ledger(c, home));
      }
    } catch (SQLException e) {
      checks.add(new Check("pushes-present", false, "cannot query the sandbox's push_ledger: " + e.getMessage()));
    }
    return checks;
  }

  /** The id a repository directory is named by ({@code .../repositories/<id>}), or null for another name. */
  private static Long repositoryId(Path repo) {
    try {
      return Long.parseLong(repo.getFileName().toString());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /**
   * Rows whose Git storage belongs in this home (AVAILABLE, or no {@code state} column; not in a data store; not
   * on Mesh) must have their directory; every directory must have a row, whatever its state. The others are
   * counted, with the states seen, so that a wrong guess at AVAILABLE's number shows in the detail.
   */
  private static Check repositoriesMatch(List<BitbucketTables.RepositoryRow> rows, Map<Long, Path> dirs, List<Path> unnamed) {
    Set<Long> expected = new TreeSet<>();
    Set<Long> allRows = new TreeSet<>();
    Map<Integer, Integer> otherStates = new TreeMap<>();
    int notAvailable = 0;
    int notAvailableWithDir = 0;
    int dataStore = 0;
    int mesh = 0;
    for (BitbucketTables.RepositoryRow r : rows) {
      allRows.add(r.id());
      switch (r.storage()) {
        case HOME -> expected.add(r.id());
        case NOT_AVAILABLE -> {
          notAvailable++;
          otherStates.merge(r.state(), 1, Integer::sum);
          if (dirs.containsKey(r.id())) {
            notAvailableWithDir++;
          }
        }
        case DATA_STORE -> dataStore++;
        case MESH -> mesh++;
      }
    }
    Set<Long> noDir = new TreeSet<>(expected);
    noDir.removeAll(dirs.keySet());
    Set<Long> noRow = new TreeSet<>(dirs.keySet());
    noRow.removeAll(allRows);
    List<String> skipped = new ArrayList<>();
    if (notAvailable > 0) {
      skipped.add(
          notAvailable + " not AVAILABLE ("
              + String.join(", ", otherStates.entrySet().stream().map(e -> "state " + e.getKey() + ": " + e.getValue()).toList())
              + (notAvailableWithDir > 0 ? "; " + notAvailableWithDir + " of them with a directory here" : "") + ")");
    }
    if (dataStore > 0) {
      skipped.add(dataStore + " in a data store");
    }
    if (mesh > 0) {
      skipped.add(mesh + " on Bitbucket Mesh");
    }
    String note = skipped.isEmpty() ? "" : "; not expected in this home: " + String.join(", ", skipped);
    boolean ok = noDir.isEmpty() && noRow.isEmpty() && unnamed.isEmpty();
    if (ok) {
      return new Check("repositories-match", true, expected.size() + " repositories in the database, each with its directory" + note);
    }
    List<String> problems = new ArrayList<>();
    if (!noDir.isEmpty()) {
      problems.add("rows without a directory: " + listed(noDir));
    }
    if (!noRow.isEmpty()) {
      problems.add("directories without a row: " + listed(noRow));
    }
    if (!unnamed.isEmpty()) {
      problems.add("directories not named by a repository id: " + listed(unnamed.stream().map(p -> p.getFileName().toString()).toList()));
    }
    return new Check("repositories-match", false, String.join(" ", problems) + note);
  }

  /** {@code [a, b, c]}, or the first {@link #LISTED} and how many more. */
  private static String listed(java.util.Collection<?> items) {
    List<String> all = items.stream().map(String::valueOf).toList();
    if (all.size() <= LISTED) {
      return "[" + String.join(", ", all) + "]";
    }
    return "[" + String.join(", ", all.subList(0, LISTED)) + ", and " + (all.size() - LISTED) + " more]";
  }

  /**
   * "latest-pushes-present": for each repository in {@code here}, the objects its newest recorded push left its
   * refs at (deleted refs excepted) are in it. Not that the refs still point there: a branch deleted, merged or
   * created in the UI can leave no push row, so the newest row need not be the tip. Looking each object up is the
   * proof a restore needs: the database names a commit that the repositories must hold. One exception, counted
   * in the detail: an object missing together with its ref, from a push older than {@link #PRUNE_GRACE} before
   * the newest push of the database, which {@code git gc} may have pruned after the branch was deleted in the UI.
   * A database ahead of its repositories (the failure this check is for) differs in its newest pushes, not in
   * pushes two weeks older.
   */
  private Check latestPushes(Connection c, Map<Long, Path> here) throws SQLException {
    Map<Long, List<BitbucketTables.PushedRef>> byRepo = new TreeMap<>();
    for (BitbucketTables.PushedRef r : BitbucketTables.newestPushes(c)) {
      if (here.containsKey(r.repositoryId())) {
        byRepo.computeIfAbsent(r.repositoryId(), k -> new ArrayList<>()).add(r);
      }
    }
    Map<Path, List<String>> wanted = new LinkedHashMap<>();
    Map<Path, List<BitbucketTables.PushedRef>> refsOf = new LinkedHashMap<>();
    int deletesOnly = 0;
    int refs = 0;
    for (Map.Entry<Long, List<BitbucketTables.PushedRef>> e : byRepo.entrySet()) {
      List<BitbucketTables.PushedRef> kept = e.getValue().stream().filter(r -> r.ref() != null).toList();
      if (kept.isEmpty()) {
        deletesOnly++;
        continue;
      }
      Path repo = here.get(e.getKey());
      // Each object, then each ref: whether the ref still exists tells a pruned branch from a lost push.
      List<String> names = new ArrayList<>(kept.stream().map(BitbucketTables.PushedRef::toHash).toList());
      names.addAll(kept.stream().map(BitbucketTables.PushedRef::ref).toList());
      wanted.put(repo, names);
      refsOf.put(repo, kept);
      refs += kept.size();
    }
    java.time.LocalDateTime newest =
        byRepo.values().stream().flatMap(List::stream).map(BitbucketTables.PushedRef::at)
            .max(java.util.Comparator.naturalOrder()).orElse(null);
    Map<Path, Lookup> found = lookUp(wanted);
    List<String> missing = new ArrayList<>();
    List<String> pruned = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (Map.Entry<Path, List<BitbucketTables.PushedRef>> e : refsOf.entrySet()) {
      Lookup l = found.get(e.getKey());
      if (l.error() != null) {
        errors.add("repository " + e.getKey().getFileName() + ": " + l.error());
        continue;
      }
      int n = e.getValue().size();
      for (int i = 0; i < n; i++) {
        if (l.missing().get(i)) {
          BitbucketTables.PushedRef r = e.getValue().get(i);
          String label = r.repositoryId() + " " + r.ref() + " " + abbreviated(r.toHash());
          boolean refGone = l.missing().get(n + i);
          if (refGone && r.at().plus(PRUNE_GRACE).isBefore(newest)) {
            pruned.add(label);
          } else {
            missing.add(label);
          }
        }
      }
    }
    List<String> notes = new ArrayList<>();
    if (deletesOnly > 0) {
      notes.add(deletesOnly + " whose newest push only deleted refs");
    }

    int without = here.size() - byRepo.size();
    if (without > 0) {
      notes.add(without + " with no recorded push");
    }
    String note = notes.isEmpty() ? "" : " (of the repositories here, " + String.join("; ", notes) + ")";
    if (!pruned.isEmpty()) {
      note += "; not failed: " + pruned.size() + " objects of refs deleted since outside a push (in the UI, say)"
          + " and pruned by git gc, pushed over " + PRUNE_GRACE.toDays() + " days before the newest push: "
          + listed(pruned);
    }
    String scope = "newest recorded push of " + refsOf.size() + " repositories";
    if (missing.isEmpty() && errors.isEmpty()) {
      return new Check("latest-pushes-present", true, scope + ": "
          + (pruned.isEmpty() ? refs + " refs, each object present" : (refs - pruned.size()) + " of " + refs
              + " refs with their object present") + note);
    }
    List<String> problems = new ArrayList<>();
    if (!missing.isEmpty()) {
      problems.add(missing.size() + " of " + refs + " objects missing: " + listed(missing));
    }
    if (!errors.isEmpty()) {
      problems.add("not looked up in " + errors.size() + " repositories: " + listed(errors));
    }
    return new Check("latest-pushes-present", false, scope + ": " + String.join("; ", problems) + note);
  }

  /**
   * "pushes-present", the sandbox's own: every row of its {@code push_ledger} (a table a real Bitbucket does not
   * have) names a commit that its repository holds.
   */
  private Check ledger(Connection c, Path home) throws SQLException {
    Map<Path, List<String>> wanted = new LinkedHashMap<>();
    Map<Path, List<String>> labels = new LinkedHashMap<>();
    int rows = 0;
    int deletions = 0;
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT repository_id, new_sha FROM push_ledger ORDER BY id")) {
      while (rs.next()) {
        rows++;
        Path repo = home.resolve("shared/data/repositories/" + rs.getLong(1));
        String sha = rs.getString(2).strip();
        // A deleted ref leaves nothing to look for.
        if (sha.chars().allMatch(ch -> ch == '0')) {
          deletions++;
          continue;
        }
        wanted.computeIfAbsent(repo, k -> new ArrayList<>()).add(sha + "^{commit}");
        labels.computeIfAbsent(repo, k -> new ArrayList<>()).add(rs.getLong(1) + ":" + abbreviated(sha));
      }
    }
    Map<Path, Lookup> found = lookUp(wanted);
    List<String> missing = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (Map.Entry<Path, List<String>> e : labels.entrySet()) {
      Lookup l = found.get(e.getKey());
      if (l.error() != null) {
        errors.add("repository " + e.getKey().getFileName() + ": " + l.error());
        continue;
      }
      for (int i = 0; i < e.getValue().size(); i++) {
        if (l.missing().get(i)) {
          missing.add(e.getValue().get(i));
        }
      }
    }
    if (missing.isEmpty() && errors.isEmpty()) {
      return new Check("pushes-present", true, rows + " pushes in the sandbox's push_ledger, each with its commit"
          + (deletions > 0 ? " (" + deletions + " of them deleted a ref)" : ""));
    }
    List<String> problems = new ArrayList<>();
    if (!missing.isEmpty()) {
      problems.add(missing.size() + " of " + rows + " pushes in the sandbox's push_ledger lack their commit: " + listed(missing));
    }
    if (!errors.isEmpty()) {
      problems.add("not looked up in " + errors.size() + " repositories: " + listed(errors));
    }
    return new Check("pushes-present", false, String.join("; ", problems));
  }

  private static String abbreviated(String sha) {
    return sha == null ? "null" : sha.substring(0, Math.min(12, sha.length()));
  }

  /**
   * "fork-alternates", when any repository of {@code home} is a fork: each takes its origin's objects from this
   * home ({@link Home#RESTORED}), or from the origin copied with it ({@link Home#BACKUP_COPY}). A fork that does
   * not is reported with the fix, not thrown: the restore has happened and the operator needs the next step.
   */
  public Optional<Check> forks(Path home, List<Path> repos, Home kind) {
    List<Alternates> forks = repos.stream().map(Alternates::of).filter(Alternates::isFork).toList();
    if (forks.isEmpty()) {
      return Optional.empty();
    }
    List<String> outside = new ArrayList<>();
    List<String> noOrigin = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    Set<String> oldHomes = new TreeSet<>();
    int broken = 0;
    for (Alternates f : forks) {
      String id = f.repo().getFileName().toString();
      boolean bad = false;
      if (f.unreadable() != null) {
        unreadable.add(id + " (" + f.unreadable() + ")");
        bad = true;
      }
      for (Alternates.Entry e : f.entries()) {
        boolean counterpart = e.counterpart() != null && Files.isDirectory(e.counterpart());
        if (Files.isDirectory(e.path()) && Alternates.inside(e.path(), home)) {
          continue;
        }
        if (kind == Home.BACKUP_COPY && counterpart) {
          continue;
        }
        bad = true;
        if (kind == Home.RESTORED && counterpart) {
          outside.add(id + " -> " + e.recorded());
          String old = e.recordedHome(home);
          if (old != null) {
            oldHomes.add(old);
          }
        } else {
          noOrigin.add(id + " -> " + e.recorded());
        }
      }
      if (bad) {
        broken++;
      }
    }
    if (broken == 0) {
      return Optional.of(new Check("fork-alternates", true,
          forks.size() + " forks, each with its origin's objects in this " + (kind == Home.RESTORED ? "home" : "copy")));
    }
    List<String> problems = new ArrayList<>();
    if (!outside.isEmpty()) {
      String fix = oldHomes.size() == 1
          ? "sed -i 's|^" + oldHomes.iterator().next() + "/|" + home.toAbsolutePath().normalize() + "/|' "
              + home.toAbsolutePath().normalize() + "/shared/data/repositories/*/objects/info/alternates"
          : "rewrite each objects/info/alternates to the origin's objects directory in this home";
      problems.add(outside.size() + " take their origin's objects from outside this home, at the path Bitbucket"
          + " wrote when the home was elsewhere (" + String.join(", ", outside.subList(0, Math.min(LISTED, outside.size())))
          + (outside.size() > LISTED ? ", and " + (outside.size() - LISTED) + " more" : "") + "); before starting"
          + " Bitbucket on this home, point them at it: " + fix);
    }
    if (!noOrigin.isEmpty()) {
      problems.add(noOrigin.size() + " name an origin whose objects are not in this "
          + (kind == Home.RESTORED ? "home" : "copy") + ": " + listed(noOrigin));
    }
    if (!unreadable.isEmpty()) {
      problems.add("unreadable alternates: " + listed(unreadable));
    }
    return Optional.of(new Check("fork-alternates", false, broken + " of " + forks.size() + " forks: " + String.join("; ", problems)));
  }

  /**
   * What one {@code git cat-file --batch-check} said.
   *
   * @param missing for each name asked, in order, whether the repository lacks it (empty when {@code error})
   * @param error why the lookup did not run to the end, or null
   */
  record Lookup(List<Boolean> missing, String error) {}

  /**
   * Looks up {@code names} (object ids or any name {@code git cat-file} takes, such as {@code <id>^{commit}}) in
   * each repository: one {@code git cat-file --batch-check} per repository, fed from a file, one per processor at a
   * time, each within {@link #LOOKUP_TIMEOUT}. Never throws for one repository's failure; reports it.
   */
  Map<Path, Lookup> lookUp(Map<Path, List<String>> names) {
    Map<Path, Lookup> results = new ConcurrentHashMap<>();
    if (names.isEmpty()) {
      return results;
    }
    Path dir;
    try {
      dir = Files.createTempDirectory("snapstash-lookup-");
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create a temporary file for git cat-file: " + e.getMessage(), e);
    }
    try {
      List<Path> repos = new ArrayList<>(names.keySet());
      Map<Path, Integer> index = new java.util.HashMap<>();
      for (int i = 0; i < repos.size(); i++) {
        index.put(repos.get(i), i);
      }
      runEach(repos, repo -> results.put(repo, lookUp(repo, names.get(repo), dir.resolve(index.get(repo) + ".txt"))));
    } finally {
      try {
        Trees.deleteRecursively(dir);
      } catch (SnapstashException e) {
        // a few small files in the temporary directory; nothing depends on them
      }
    }
    return results;
  }

  private Lookup lookUp(Path repo, List<String> names, Path input) {
    if (!Files.isDirectory(repo)) {
      return new Lookup(names.stream().map(n -> true).toList(), null);
    }
    try {
      Files.writeString(input, String.join("\n", names) + "\n");
    } catch (IOException e) {
      return new Lookup(List.of(), "cannot write " + input + ": " + e.getMessage());
    }
    List<String> out = new ArrayList<>();
    ProcessResult r;
    try {
      r = runner.runAllowingFailure(
          gitCommand(repo, "cat-file", "--batch-check").stdinFrom(input).withTimeout(LOOKUP_TIMEOUT), out::add);
    } catch (SnapstashException e) {
      if (e.kind() == ErrorKind.INTERRUPTED) {
        throw e;
      }
      return new Lookup(List.of(), e.getMessage());
    }
    if (r.exitCode() != 0 || out.size() != names.size()) {
      return new Lookup(List.of(), "git cat-file exited with " + r.exitCode() + " after " + out.size() + " of "
          + names.size() + " answers" + (r.stderrTail().isBlank() ? "" : ": " + firstError(r)));
    }
    // One line per name, in order: "<id> <type> <size>", or "<name> missing".
    return new Lookup(out.stream().map(l -> l.endsWith(" missing") || l.endsWith(" ambiguous")).toList(), null);
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

  /**
   * Backups are owned by whoever ran them; git refuses repositories of other owners unless told they are safe. A
   * fork's origin is looked up next to it, in the same copy (see {@link Alternates#remapped}).
   */
  static Command gitCommand(Path repo, String... args) {
    List<String> argv = new ArrayList<>(List.of("git", "-c", "safe.directory=*", "--git-dir=" + repo));
    argv.addAll(List.of(args));
    Command command = Command.of(argv);
    List<Path> origins = Alternates.of(repo).remapped();
    if (!origins.isEmpty()) {
      command = command.withEnv("GIT_ALTERNATE_OBJECT_DIRECTORIES",
          String.join(java.io.File.pathSeparator, origins.stream().map(Path::toString).toList()));
    }
    return command;
  }

  static Command git(Path repo, String... args) {
    return gitCommand(repo, args).discardingStdout();
  }
}
