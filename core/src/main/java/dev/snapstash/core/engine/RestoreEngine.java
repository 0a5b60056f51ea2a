package dev.snapstash.core.engine;

import dev.snapstash.core.util.Json;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a backup: refuses every unsafe situation before writing a byte (running instance, non-empty target,
 * database with tables, incomplete or damaged backup, too little space), then restores home and database in
 * parallel, removes stale Git locks, verifies the result (the restored home against the backup's {@code
 * home.sha256}, the restored database against the restored repositories, {@code git fsck} on a sample), and writes
 * a report into the restored home's {@code log/}. A result that fails verification is left in place for the
 * operator to inspect; {@link Report#ok()} says so and the caller decides the exit code.
 */
public final class RestoreEngine {
  private static final Logger log = LoggerFactory.getLogger(RestoreEngine.class);

  /**
   * @param tag a tag or "latest"
   * @param homeTarget where the home is restored
   * @param force replace a non-empty target home and database (never one a live instance uses)
   * @param allowIncomplete restore a failed or in-progress backup
   * @param verify check the restored result (off only for instances too large to read twice)
   * @param keepProperties leave the restored {@code bitbucket.properties} naming the backed-up database, even when
   *     the restore wrote another one
   */
  public record Options(
      String tag, Path homeTarget, boolean force, boolean allowIncomplete, boolean verify, boolean keepProperties) {
    public Options(String tag, Path homeTarget, boolean force, boolean allowIncomplete) {
      this(tag, homeTarget, force, allowIncomplete, true, false);
    }

    public Options(String tag, Path homeTarget, boolean force, boolean allowIncomplete, boolean verify) {
      this(tag, homeTarget, force, allowIncomplete, verify, false);
    }

    Options at(Path target) {
      return new Options(tag, target, force, allowIncomplete, verify, keepProperties);
    }
  }

  /**
   * The checks run on the restored result; null in the report when skipped.
   *
   * @param fsckRepositories which restored repositories {@code git fsck} looked at, relative to the home
   */
  public record Verification(boolean ok, List<VerifyEngine.Check> checks, List<String> fsckRepositories) {}

  /** What a restore did, written as JSON into the restored home's log directory. */
  public record Report(
      String tag,
      String homeTarget,
      String diskStrategy,
      String databaseStrategy,
      Instant startedAt,
      Instant finishedAt,
      Map<String, Long> phases,
      long bytes,
      List<String> staleLocksRemoved,
      Verification verification,
      boolean disasterRecoverySet,
      Repoint.Result properties,
      List<String> alternatesRepointed) {
    /** True unless the restored result was verified and failed. */
    public boolean ok() {
      return verification == null || verification.ok();
    }
  }

  private final BackupStore store;
  private final DiskStrategy disk;
  private final DatabaseStrategy database;
  private final dev.snapstash.core.bitbucket.InstanceProbe instance;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final Consistency consistency;

  public RestoreEngine(
      BackupStore store,
      DiskStrategy disk,
      DatabaseStrategy database,
      dev.snapstash.core.bitbucket.InstanceProbe instance,
      Clock clock,
      LongSupplier nanoTime) {
    this(store, disk, database, instance, clock, nanoTime, new Consistency(new ProcessRunner(), new SecureRandom()));
  }

  /**
   * @param instance what answers where an instance whose home or database this restore writes would run; the
   *     restore refuses while anything does ({@code --force} overrules only an answer that may not be Bitbucket's)
   */
  public RestoreEngine(
      BackupStore store,
      DiskStrategy disk,
      DatabaseStrategy database,
      dev.snapstash.core.bitbucket.InstanceProbe instance,
      Clock clock,
      LongSupplier nanoTime,
      Consistency consistency) {
    this.store = store;
    this.disk = disk;
    this.database = database;
    this.instance = instance;
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.consistency = consistency;
  }

  static final String DISASTER_RECOVERY = "disaster.recovery";

  /**
   * A home reached through a symbolic link (to a data volume, typically) is restored into the directory it
   * points to: {@code cp -T} will not write a directory over a link, and a clean-up must never remove the link.
   */
  private static Options throughLink(Options options) {
    Path target = options.homeTarget();
    if (!Files.isSymbolicLink(target) || !Files.isDirectory(target)) {
      return options;
    }
    try {
      Path real = target.toRealPath();
      log.info("{} is a link to {}; restoring into {}", target, real, real);
      return options.at(real);
    } catch (java.io.IOException e) {
      throw SnapstashException.storage("cannot resolve the restore target " + target + ": " + e.getMessage(), e);
    }
  }

  /** Zero-downtime mode: no quiescer locked the instance, the disk strategy's snapshot was the only fence. */
  static boolean takenWithoutALock(Manifest m) {
    return m.takenWithoutALock();
  }

  public Report restore(Options requested, Progress progress) {
    Options options = throughLink(requested);
    Instant startedAt = clock.instant();
    long t0 = nanoTime.getAsLong();
    Map<String, Long> phases = new LinkedHashMap<>();
    Manifest m = store.resolve(options.tag());
    Path backupDir = store.dir(m.tag());
    dev.snapstash.core.util.PrivateFiles.sweep(store.root());
    RestoreContext ctx = new RestoreContext(m.tag(), backupDir, options.homeTarget(), options.force(), progress);

    refuseUnsafe(m, options, ctx);
    phases.put("checks", millisSince(t0));

    long t = nanoTime.getAsLong();
    checkIntegrity(m, backupDir, progress);
    phases.put("checksums", millisSince(t));

    boolean targetWasEmpty = Trees.isEmptyOrMissing(options.homeTarget());
    boolean targetExisted = Files.isDirectory(options.homeTarget());
    t = nanoTime.getAsLong();
    Repoint.Result[] repointed = new Repoint.Result[1];
    List<String> forks = new ArrayList<>();
    // Straight after the home is in place, before the database is (which may fail): a copy left behind must not
    // point at the source database either.
    Runnable home = () -> {
      disk.restore(ctx);
      repointed[0] = repoint(options);
      // A fork reads its origin's objects through an absolute path to the home it was backed up from: in a home
      // restored elsewhere that is another instance's origin, or nothing (Atlassian KB, "Migrating forked
      // repositories to Bitbucket mesh fails").
      if (Files.isDirectory(options.homeTarget())) {
        forks.addAll(Alternates.repoint(options.homeTarget()));
        if (!forks.isEmpty()) {
          log.info("pointed {} fork(s) at their origins in the restored home (objects/info/alternates)", forks.size());
        }
      }
    };
    try {
      List<String> databaseFiles = database.homeFilesRestored(ctx);
      if (!databaseFiles.isEmpty()) {
        home.run();
        // A home restored whole (a snapshot) carries the live database's files as they were at that instant;
        // they belong to the database strategy, whose own consistent copy replaces them.
        for (String rel : databaseFiles) {
          Path f = options.homeTarget().resolve(rel);
          try {
            Files.deleteIfExists(f);
          } catch (java.io.IOException io) {
            throw SnapstashException.storage("cannot remove " + f + " before restoring the database: " + io.getMessage(), io);
          }
        }
        database.restore(ctx);
      } else {
        parallel(home, () -> database.restore(ctx));
      }
    } catch (RuntimeException e) {
      SnapstashException first =
          e instanceof SnapstashException se ? se : SnapstashException.internal("restore failed: " + e, e);
      if (targetWasEmpty) {
        try {
          // Back to what it was: an empty directory the operator made (perhaps a volume's mount point) stays.
          if (targetExisted) {
            try (java.util.stream.Stream<Path> children = Files.list(options.homeTarget())) {
              children.forEach(Trees::deleteRecursively);
            }
          } else {
            Trees.deleteRecursively(options.homeTarget());
          }
        } catch (RuntimeException | java.io.IOException cleanup) {
          first.addSuppressed(cleanup);
        }
      }
      throw first;
    }
    phases.put("restore", millisSince(t));

    t = nanoTime.getAsLong();
    List<String> locks = GitLocks.removeStale(options.homeTarget());
    if (!locks.isEmpty()) {
      log.info("removed {} stale Git lock file(s)", locks.size());
    }
    phases.put("git-locks", millisSince(t));


    Verification verification = null;
    if (options.verify()) {
      t = nanoTime.getAsLong();
      List<String> edited = new ArrayList<>(locks);
      if (repointed[0] != null && repointed[0].rewritten()) {
        edited.add(BitbucketProperties.RELATIVE_PATH);
      }
      edited.addAll(forks);
      verification = verifyResult(ctx, backupDir, edited, progress);
      phases.put("verify", millisSince(t));
    }
    // After the checks, which compare the restored files with the backup's: this edit is ours, not a copy error.
    boolean lockFree = takenWithoutALock(m) && Files.isDirectory(options.homeTarget().resolve("shared"));
    if (lockFree) {
      // A backup taken without a lock may hold refs the database has not recorded yet (never the reverse; see
      // docs/strategies/disk-btrfs.md): Bitbucket repairs that at start-up when told to.
      BitbucketProperties.set(
          options.homeTarget(), DISASTER_RECOVERY, "true",
          "set by snapstash restore of " + m.tag() + " (taken without a lock): run Bitbucket's integrity checks at the"
              + " first start, then set it back to false");
      log.warn(
          "{} was taken without a lock: set {}=true in {}; set it back to false after the first start",
          m.tag(), DISASTER_RECOVERY, BitbucketProperties.RELATIVE_PATH);
    }
    phases.put("total", millisSince(t0));
    Report report =
        new Report(
            m.tag(), options.homeTarget().toString(), disk.name(), database.name(), startedAt, clock.instant(), phases,
            m.bytes(), locks, verification, lockFree, repointed[0], List.copyOf(forks));
    writeReport(report, options.homeTarget());
    return report;
  }

  /**
   * Points the restored home's JDBC settings at the database this restore writes, when they name another; says so
   * on the log, loudly when told to keep them. Null when there was nothing to do.
   */
  private Repoint.Result repoint(Options options) {
    if (!Files.isDirectory(options.homeTarget())) {
      return null;
    }
    return database.restoredDatabase()
        .flatMap(login -> Repoint.apply(options.homeTarget(), login, options.keepProperties()))
        .map(r -> {
          if (r.kept()) {
            log.warn("{}", r.warning());
          } else {
            for (Repoint.Change c : r.changes()) {
              log.info("{}: {} {} -> {}", BitbucketProperties.RELATIVE_PATH, c.key(), c.from(), c.to());
            }
            if (r.warning() != null) {
              log.warn("{}", r.warning());
            }
          }
          return r;
        })
        .orElse(null);
  }

  /**
   * Listed home files the restore changed on purpose: stale Git locks removed, an embedded database replaced, the
   * JDBC settings repointed.
   */
  private Set<String> leftToOthers(RestoreContext ctx, List<String> editedFiles) {
    Set<String> skip = new java.util.HashSet<>(editedFiles);
    skip.addAll(database.homeFilesRestored(ctx));
    return Set.copyOf(skip);
  }

  /**
   * Checks what was written, not what was read: a copy can go wrong after the backup's own checksums passed (a
   * full or failing disk, a database that rejected part of the dump, a repository row whose directory is absent).
   */
  private Verification verifyResult(RestoreContext ctx, Path backupDir, List<String> editedFiles, Progress progress) {
    Path home = ctx.homeTarget();
    List<VerifyEngine.Check> checks = new ArrayList<>();
    progress.report("verify", 0, "checksums of the restored home");
    if (!disk.capabilities().contains(dev.snapstash.core.spi.Capability.COPIES_HOME)) {
      log.info("disk.type {} copies no home: nothing was restored, so no checksums are compared", disk.name());
    } else if (!Files.exists(backupDir.resolve(HomeChecksums.FILE))) {
      checks.add(new VerifyEngine.Check("home-checksums", true, "not compared: the backup has no " + HomeChecksums.FILE));
    } else {
      HomeChecksums.Check c =
          HomeChecksums.verifyCopy(backupDir, home, leftToOthers(ctx, editedFiles), Runtime.getRuntime().availableProcessors());
      List<String> bad = new ArrayList<>(c.mismatched());
      c.missing().forEach(p -> bad.add(p + " (missing)"));
      checks.add(
          new VerifyEngine.Check(
              "home-checksums",
              c.ok(),
              c.ok()
                  ? c.files() + " restored files match the backup's " + HomeChecksums.FILE
                  : bad.size() + " of " + c.files() + " restored files differ from the backup, first " + bad.get(0)));
    }

    progress.report("verify", 0.4, "restored database against the restored repositories");
    List<Path> repos = Files.isDirectory(home) ? GitLocks.repositories(home) : List.of();
    try (Connection c = database.connectRestored(ctx).orElse(null)) {
      if (c != null) {
        checks.addAll(consistency.database(c, home, repos));
      } else {
        log.info("database.type {}: no restored database to cross-check against the repositories", database.name());
      }
    } catch (SQLException e) {
      checks.add(
          new VerifyEngine.Check("repositories-match", false, "cannot open the restored database: " + e.getMessage()));
    }

    consistency.forks(home, repos, Consistency.Home.RESTORED).ifPresent(checks::add);

    List<Path> sample = consistency.sample(repos, false);
    progress.report("verify", 0.7, "git fsck of " + sample.size() + " restored repositories");
    checks.add(consistency.fsck(sample, repos.size(), false));
    progress.report("verify", 1, "");
    List<String> names = sample.stream().map(p -> home.relativize(p).toString()).sorted().toList();
    return new Verification(checks.stream().allMatch(VerifyEngine.Check::ok), checks, names);
  }

  private void refuseUnsafe(Manifest m, Options options, RestoreContext ctx) {
    if (m.state() != Manifest.State.COMPLETE && !options.allowIncomplete()) {
      throw SnapstashException.precondition(
          "backup " + m.tag() + " is " + m.state().name().toLowerCase().replace('_', '-')
              + ", not complete; restore another tag, or pass --allow-incomplete to restore it anyway");
    }
    Path target = options.homeTarget();
    if (Files.exists(target.resolve(".lock")) || Files.exists(target.resolve("shared/.lock"))) {
      throw SnapstashException.precondition(
          "the target home " + target + " has a .lock file, so Bitbucket looks to be running on it; stop it before"
              + " restoring");
    }
    if (Files.isDirectory(target)) {
      List<dev.snapstash.core.util.ProcessesUsing.Holder> holders = dev.snapstash.core.util.ProcessesUsing.directory(target);
      if (!holders.isEmpty()) {
        var h = holders.get(0);
        throw SnapstashException.precondition(
            "process " + h.pid() + " (" + h.command() + ") has files open in the target home " + target + " ("
                + h.path() + (holders.size() > 1 ? ", and " + (holders.size() - 1) + " more process(es)" : "")
                + "); stop it before restoring, or restore elsewhere with --home-target");
      }
    }
    instance.answer().ifPresent(a -> {
      if (a.certain() || !options.force()) {
        throw SnapstashException.precondition(
            a.what() + "; stop the instance before restoring, or restore elsewhere (--home-target, --jdbc-url)"
                + (a.certain() ? "" : "; if what answers is not Bitbucket, --force overrules this check"));
      }
      log.warn("{}; restoring anyway (--force)", a.what());
    });
    disk.prepareRestore(ctx);
    database.prepareRestore(ctx);
    checkSpace(m, target);
  }

  private static void checkSpace(Manifest m, Path target) {
    Path existing = target.toAbsolutePath();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return;
    }
    try {
      long free = Files.getFileStore(existing).getUsableSpace();
      if (free < m.bytes()) {
        throw new SnapstashException(
            ErrorKind.STORAGE,
            "not enough space for the restore under " + existing + ": " + Trees.humanBytes(free) + " free, "
                + Trees.humanBytes(m.bytes()) + " needed");
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot read the free space of " + existing + ": " + e.getMessage(), e);
    }
  }

  /** Database artifacts against the manifest, and the home against home.sha256, before anything is written. */
  private static void checkIntegrity(Manifest m, Path backupDir, Progress progress) {
    progress.report("checksums", 0, "");
    List<String> bad = Integrity.damaged(m, backupDir, Runtime.getRuntime().availableProcessors());
    progress.report("checksums", 1, "");
    if (!bad.isEmpty()) {
      throw new SnapstashException(
          ErrorKind.VERIFICATION,
          "backup " + m.tag() + " is damaged, restore refused: " + bad.size() + " file(s) do not match their"
              + " checksums, first " + bad.get(0));
    }
  }

  private static void parallel(Runnable a, Runnable b) {
    ExecutorService pool = Executors.newFixedThreadPool(2, r -> new Thread(r, "restore"));
    try {
      CompletableFuture<Void> fa = CompletableFuture.runAsync(a, pool);
      CompletableFuture<Void> fb = CompletableFuture.runAsync(b, pool);
      try {
        CompletableFuture.allOf(fa, fb).join();
      } catch (CompletionException e) {
        fa.cancel(true);
        fb.cancel(true);
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
    } finally {
      dev.snapstash.core.util.Pools.stopAndWait(pool, Duration.ofSeconds(30));
    }
  }

  private static void writeReport(Report report, Path home) {
    Path dir = home.resolve("log");
    try {
      Files.createDirectories(dir);
      Json.MAPPER.writeValue(dir.resolve("snapstash-restore-" + report.tag() + ".json").toFile(), report);
    } catch (IOException e) {
      log.warn("could not write the restore report into {}: {}", dir, e.getMessage());
    }
  }

  private long millisSince(long t) {
    return Duration.ofNanos(nanoTime.getAsLong() - t).toMillis();
  }
}
