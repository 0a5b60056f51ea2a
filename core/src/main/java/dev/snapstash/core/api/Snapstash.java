package dev.snapstash.core.api;

import dev.snapstash.core.bitbucket.InstanceProbe;
import dev.snapstash.core.config.JdbcTarget;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.ArchiveDestination;
import dev.snapstash.core.engine.ArchiveFetch;
import dev.snapstash.core.engine.Archives;
import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.Consistency;
import dev.snapstash.core.engine.InProgress;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.engine.Pruner;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.engine.RestoreEngine;
import dev.snapstash.core.engine.Retention;
import dev.snapstash.core.engine.RunGuard;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.metrics.RunMetrics;
import dev.snapstash.core.metrics.Textfile;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

/**
 * The one entry point to snapstash, as Flyway's {@code Flyway} is to Flyway: built from a loaded configuration, it
 * backs up, restores, verifies, drills, recovers, prunes, lists and checks, and returns each outcome as a typed
 * result that a caller prints as text or JSON. The CLI's verbs parse their options, call one method here and print;
 * nothing here prints or exits.
 *
 * <p>A failed verification (of a backup, of a restored copy, of the preflight) is a result, not an exception: the
 * caller shows what failed and then throws {@link #failure} of it, so that the checks are printed beside the error.
 * Every other failure is a {@link SnapstashException} whose kind decides the exit code.
 *
 * <p>Each call builds the strategies it needs afresh; an instance may be used for several calls, one at a time.
 */
public final class Snapstash {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Snapstash.class);

  private final Composition composition;
  private final DrillInstance drillInstance;
  private final ToIntFunction<ErrorKind> exitCodes;

  private Snapstash(Composition composition, DrillInstance drillInstance, ToIntFunction<ErrorKind> exitCodes) {
    this.composition = composition;
    this.drillInstance = drillInstance;
    this.exitCodes = exitCodes;
  }

  /** A facade for {@code config}, with the builder's defaults for everything else. */
  public static Builder configure(SnapstashConfig config) {
    return new Builder(config);
  }

  /** How a facade is built: every part has a default fit for a real run. */
  public static final class Builder {
    private final SnapstashConfig config;
    private ProcessRunner runner = new ProcessRunner();
    private Function<String, String> environment = System::getenv;
    private String version = "unknown";
    private DrillInstance drillInstance;
    private ToIntFunction<ErrorKind> exitCodes;

    private Builder(SnapstashConfig config) {
      this.config = Objects.requireNonNull(config, "config");
    }

    /** The one runner every subprocess goes through (default: a new {@link ProcessRunner}). */
    public Builder runner(ProcessRunner runner) {
      this.runner = runner;
      return this;
    }

    /** Where proxy variables are read (default: the process environment). */
    public Builder environment(Function<String, String> environment) {
      this.environment = environment;
      return this;
    }

    /** snapstash's own version, written into each manifest. */
    public Builder version(String version) {
      this.version = version;
      return this;
    }

    /** What a drill starts on a restored copy; without one, {@link #drill} is refused. */
    public Builder drillInstance(DrillInstance drillInstance) {
      this.drillInstance = drillInstance;
      return this;
    }

    /**
     * The exit code the caller ends with for each kind of failure, for the metrics textfile's {@code
     * snapstash_last_run_exit_code}; without it that series is not written.
     */
    public Builder exitCodes(ToIntFunction<ErrorKind> exitCodes) {
      this.exitCodes = exitCodes;
      return this;
    }

    public Snapstash build() {
      return new Snapstash(new Composition(config, runner, environment, version), drillInstance, exitCodes);
    }
  }

  /** The strategies and engines this facade builds, for callers that need one part as configured. */
  public Composition composition() {
    return composition;
  }

  // ---- check and backup

  /**
   * Everything a backup's preflight looks at; changes nothing. The findings are the result: {@link
   * #failure(Findings)} is the error to end with when they hold a problem.
   */
  public Findings check() {
    return composition.backupEngine().check();
  }

  /** Takes one backup and returns its complete manifest; throws after cleaning up if anything fails. */
  public Manifest backup(Progress progress) {
    return metered("backup", () -> composition.backupEngine().backup(progress), Snapstash::failure);
  }

  // ---- recover

  /** Finishes the clean-up of a run that died, from its crash journal; with no journal there is nothing to do. */
  public RecoverEngine.Report recover() {
    return composition.recoverEngine().recover();
  }

  /** {@link #recover()}, only if a dead run left its journal (a backup's {@code --auto-recover}). */
  public Optional<RecoverEngine.Report> recoverLeftover() {
    if (!Files.exists(Journal.file(composition.store().root()))) {
      return Optional.empty();
    }
    return Optional.of(recover());
  }

  // ---- list and prune

  /**
   * One backup as listed: its manifest as written, and for one in progress what became of its run.
   *
   * @param run null unless the backup is in progress and its run's fate is known (running or died)
   * @param dir where the backup is stored
   */
  public record Entry(Manifest manifest, InProgress.Status run, Path dir) {}

  /** The backups under {@code root}, newest first. */
  public record Listing(Path root, List<Entry> entries) {}

  /** Every backup under the backup root, newest first; a backup whose run failed and removed it meanwhile is left out. */
  public Listing list() {
    // Reads only, so it needs none of backup.group's modes (and lists even when that group is gone).
    BackupStore store = new BackupStore(composition.config().backup().root());
    List<Entry> out = new ArrayList<>();
    for (Manifest m : store.list()) {
      if (m.state() != Manifest.State.IN_PROGRESS) {
        out.add(new Entry(m, null, store.dir(m.tag())));
        continue;
      }
      InProgress.Status s = InProgress.of(store, m);
      if (s.manifest() == null) {
        continue; // its run failed and removed it meanwhile
      }
      out.add(new Entry(s.manifest(), s.state() == InProgress.State.ENDED ? null : s, store.dir(m.tag())));
    }
    return new Listing(store.root(), List.copyOf(out));
  }

  /** The retention rules of the configuration ({@code retention.*}). */
  public Retention.Policy configuredRetention() {
    return composition.retention();
  }

  /**
   * Deletes the backups {@code policy} does not keep (the newest complete backup and backups in progress never),
   * or with {@code dryRun} only says which. Refused (USAGE) when the policy keeps by no rule at all.
   */
  public Pruner.Result prune(Retention.Policy policy, boolean dryRun) {
    if (policy.isEmpty()) {
      throw new SnapstashException(
          ErrorKind.USAGE,
          "no retention rule: give --keep-last/--keep-daily/--keep-weekly/--keep-monthly, or set retention.* in the"
              + " configuration");
    }
    BackupStore store = composition.store();
    Supplier<Pruner.Result> prune = () -> {
      try (RunGuard guard = RunGuard.acquire(store, "prune")) {
        return new Pruner(store).prune(policy, dryRun, Progress.NONE);
      }
    };
    // A dry run changes nothing, so it must not stand in the metrics for the last real prune.
    return dryRun ? prune.get() : metered("prune", prune, r -> Optional.empty());
  }

  // ---- archive destinations

  /**
   * The copies one archive destination holds, newest first, from its listing alone (nothing is downloaded).
   *
   * @param now when the listing was taken, for ages
   */
  public record ArchiveListing(String destination, String type, List<ArchiveStrategy.Archived> copies, Instant now) {}

  /** The copies in the destination named {@code destination} (USAGE when no destination has that name). */
  public ArchiveListing listArchive(String destination) {
    ArchiveDestination d = composition.archive(destination);
    return new ArchiveListing(d.name(), d.strategy().name(), d.strategy().list(), Instant.now());
  }

  /**
   * Brings the copy of {@code tagOrLatest} back from {@code destination} into the backup root, checking every
   * member's SHA-256 as it streams, so that {@link #restore} restores it with every check a local backup gets.
   * Refused (PRECONDITION) when that backup is already under the backup root.
   */
  public ArchiveFetch.Fetched fetch(String destination, String tagOrLatest) {
    ArchiveDestination d = composition.archive(destination);
    BackupStore store = composition.store();
    try (RunGuard guard = RunGuard.acquire(store, "fetch")) {
      return new ArchiveFetch(store).fetch(d, tagOrLatest);
    }
  }

  /**
   * Applies each archive destination's own retention ({@code archive[].keep-*}); destinations without a rule are
   * left alone. The newest copy in each is never removed.
   */
  public List<Archives.PruneResult> pruneArchives(boolean dryRun) {
    List<Archives.PruneResult> out = new ArrayList<>();
    for (ArchiveDestination d : composition.archives()) {
      if (!d.retention().isEmpty()) {
        out.add(Archives.prune(d, dryRun));
      }
    }
    return out;
  }

  /** Whether any archive destination has a retention rule of its own. */
  public boolean archivesHaveRetention() {
    return composition.config().archives().stream()
        .map(c -> c.common(SnapstashConfig.Destination.class))
        .anyMatch(d -> d.keepLast() + d.keepDaily() + d.keepWeekly() + d.keepMonthly() > 0);
  }

  // ---- restore

  /**
   * What to restore, and where.
   *
   * @param tag a backup tag or "latest"
   * @param homeTarget where the home goes; null for the configured instance.home
   * @param jdbcUrl the database to restore into instead of the configured one; null for the configured one
   * @param force replace a non-empty home and a database holding anything (never one a live instance uses)
   * @param allowIncomplete restore a failed or in-progress backup
   * @param verify check the restored copy afterwards
   * @param keepProperties leave the restored {@code bitbucket.properties} naming the backed-up database
   */
  public record RestoreRequest(
      String tag, Path homeTarget, String jdbcUrl, boolean force, boolean allowIncomplete, boolean verify,
      boolean keepProperties) {
    /** The backup {@code tag} into {@code homeTarget} and the configured database, checked afterwards. */
    public static RestoreRequest into(String tag, Path homeTarget) {
      return new RestoreRequest(tag, homeTarget, null, false, false, true, false);
    }
  }

  /**
   * A restore decided but not begun: its target and the configuration it writes with. Nothing is written until
   * {@link #restore(RestorePlan, Progress)}; a caller asks for confirmation in between.
   */
  public static final class RestorePlan {
    private final RestoreRequest request;
    private final Composition restoring;
    private final Path homeTarget;

    private RestorePlan(RestoreRequest request, Composition restoring, Path homeTarget) {
      this.request = request;
      this.restoring = restoring;
      this.homeTarget = homeTarget;
    }

    public RestoreRequest request() {
      return request;
    }

    /** Where the home will be restored. */
    public Path homeTarget() {
      return homeTarget;
    }
  }

  /**
   * What a restore did.
   *
   * @param report the restore's report, as written into the restored home's {@code log/}
   * @param databaseAddress where the database went ({@code HOST:PORT/NAME}, no credentials); null for a database
   *     in the home
   */
  public record Restored(RestoreEngine.Report report, String databaseAddress) {}

  /** Decides a restore's target and database (refusing a bad {@code jdbcUrl}, CONFIG); writes nothing. */
  public RestorePlan planRestore(RestoreRequest request) {
    SnapstashConfig configured = composition.config();
    SnapstashConfig config = request.jdbcUrl() != null ? JdbcTarget.override(configured, request.jdbcUrl()) : configured;
    Composition restoring = composition.with(config);
    Path target = request.homeTarget() != null ? request.homeTarget() : config.instance().home();
    return new RestorePlan(request, restoring, target);
  }

  /** The tag {@code tagOrLatest} stands for (PRECONDITION when there is no such backup). */
  public String resolveTag(String tagOrLatest) {
    return composition.store().resolve(tagOrLatest).tag();
  }

  /** {@link #planRestore} and {@link #restore(RestorePlan, Progress)} in one, for callers that confirm nothing. */
  public Restored restore(RestoreRequest request, Progress progress) {
    return restore(planRestore(request), progress);
  }

  /**
   * Restores as planned: refuses every unsafe target before writing, restores home and database in parallel, and
   * checks the copy unless asked not to. A copy that fails its checks is left in place and returned; {@link
   * #failure(Restored)} is the error to end with.
   */
  public Restored restore(RestorePlan plan, Progress progress) {
    RestoreRequest r = plan.request();
    Composition restoring = plan.restoring;
    DatabaseStrategy database = restoring.database();
    RestoreEngine engine =
        restoreEngine(restoring, database, LiveInstance.probe(composition, restoring, plan.homeTarget()));
    RestoreEngine.Report report =
        engine.restore(
            new RestoreEngine.Options(r.tag(), plan.homeTarget(), r.force(), r.allowIncomplete(), r.verify(), r.keepProperties()),
            progress);
    return new Restored(report, database.restoredDatabase().map(l -> l.address().toString()).orElse(null));
  }

  /**
   * The one place a restore engine is built: restores, drills and the quickstart's restore all write the same way.
   *
   * @param database the database strategy that writes the restored database (the configured one, or a scratch
   *     database's)
   */
  private static RestoreEngine restoreEngine(Composition c, DatabaseStrategy database, InstanceProbe probe) {
    return new RestoreEngine(
        c.store(), c.disk(), database, probe, Clock.systemUTC(), System::nanoTime,
        new Consistency(c.runner(), new SecureRandom()));
  }

  // ---- stage

  /**
   * A staging refresh: which backup, and the staging file (a configuration of the staging instance: its home, base
   * URL and database, and its {@code stage:} section).
   *
   * @param tag a backup tag or "latest"
   * @param stagingFile the file's name, for messages
   * @param applyHosts write the hosts block into stage.hosts-file
   * @param approved the reviewed plan ({@link dev.snapstash.core.stage.StageReport#reviewable()} of a plan) the
   *     refresh must match, or null
   * @param jvmArgsFile the staging start environment file ({@code _start-webapp.sh}, {@code setenv.sh}) to write the
   *     lockout recovery into ({@code --apply-jvm-args}), or null
   */
  public record StageRequest(
      String tag, SnapstashConfig staging, String stagingFile, boolean applyHosts, String approved, Path jvmArgsFile) {
    /** A refresh without a reviewed plan to match. */
    public StageRequest(String tag, SnapstashConfig staging, String stagingFile, boolean applyHosts) {
      this(tag, staging, stagingFile, applyHosts, null, null);
    }

    /** A refresh that writes no start environment file. */
    public StageRequest(String tag, SnapstashConfig staging, String stagingFile, boolean applyHosts, String approved) {
      this(tag, staging, stagingFile, applyHosts, approved, null);
    }
  }

  /**
   * A refresh decided but not begun: the guard has passed, the rules are chosen. Its {@link #report()} is the plan
   * that {@code --plan} prints; nothing is written until {@link #stage(StagePlan, Progress)}.
   */
  public static final class StagePlan {
    private final StageRequest request;
    private final Staging staging;
    private final List<dev.snapstash.core.stage.RuleSet.Decision> decisions;
    private final dev.snapstash.core.stage.Parameters parameters;
    private final dev.snapstash.core.stage.StageReport report;

    private StagePlan(
        StageRequest request, Staging staging, List<dev.snapstash.core.stage.RuleSet.Decision> decisions,
        dev.snapstash.core.stage.Parameters parameters, dev.snapstash.core.stage.StageReport report) {
      this.request = request;
      this.staging = staging;
      this.decisions = decisions;
      this.parameters = parameters;
      this.report = report;
    }

    /** What the refresh would do: every rule PLANNED or SKIPPED with its reason, and the hosts block. */
    public dev.snapstash.core.stage.StageReport report() {
      return report;
    }

    /** The tag "latest" stood for when planned. */
    public String tag() {
      return report.tag();
    }
  }

  /**
   * What a refresh did; {@code failure} is set when a rule failed (its transaction rolled back, the run stopped):
   * the caller prints the report, then throws it.
   */
  public record Staged(dev.snapstash.core.stage.StageReport report, @com.fasterxml.jackson.annotation.JsonIgnore SnapstashException failure) {}

  /**
   * Refuses a staging target that could be production (CONFIG, naming the staging key to fix), resolves the
   * backup and chooses the rules; writes nothing and connects to no database.
   */
  public StagePlan planStage(StageRequest request) {
    return planStage(request, dev.snapstash.core.stage.IsolationGuard.Resolver.SYSTEM);
  }

  /** {@link #planStage(StageRequest)} with another name resolver (tests). */
  public StagePlan planStage(StageRequest request, dev.snapstash.core.stage.IsolationGuard.Resolver resolver) {
    Staging staging = new Staging(this, composition, request.staging(), request.stagingFile(),
        new dev.snapstash.core.stage.IsolationGuard(resolver));
    staging.requireIsolated();
    String tag = resolveTag(request.tag());
    String version = staging.bitbucketVersion(tag);
    SnapstashConfig.Stage st = staging.staging().config().stage();
    dev.snapstash.core.stage.Parameters parameters = staging.parameters();
    List<dev.snapstash.core.stage.RuleSet.Decision> decisions =
        staging.rules().decide(version, parameters, st.enableRules(), st.skipRules());
    var hosts = dev.snapstash.core.stage.HostsBlock.of(st.hostsAddress(), staging.productionHosts(), staging.stagingHosts());
    var report = new dev.snapstash.core.stage.StageReport(
        tag, version, true, staging.now(), staging.staging().config().instance().home().toString(),
        staging.stagingLogin().address().toString(), staging.ruleFiles(), parameters.shown(),
        decisions.stream().map(d -> dev.snapstash.core.stage.RuleRunner.plan(d, parameters)).toList(), null, hosts,
        null, dev.snapstash.core.stage.StageReport.AFTER_START, List.of(), null, null, true);
    return new StagePlan(request, staging, decisions, parameters, report);
  }

  /**
   * Refreshes staging as planned: the guard again, the restore into the staging home and database (replacing what
   * a previous refresh left; never a database a live instance uses), the rules each in its own transaction, the
   * hosts block, and the audit next to the staging home. A restored copy that fails its checks ends the refresh
   * before any rule runs (VERIFICATION).
   */
  public Staged stage(StagePlan plan, Progress progress) {
    Staging staging = plan.staging;
    staging.requireIsolated();
    if (plan.request.approved() != null && !plan.request.approved().equals(plan.report.reviewable())) {
      throw new SnapstashException(ErrorKind.PRECONDITION,
          "the refresh would differ from the reviewed plan in --plan-file (rules, their statements, parameters,"
              + " targets, Bitbucket version or hosts changed); nothing was changed: review a new plan with --plan"
              + " --plan-file");
    }
    Path home = staging.staging().config().instance().home();
    RestoreRequest rr = new RestoreRequest(plan.tag(), home, null, true, false, true, false);
    Restored restored = restore(new RestorePlan(rr, staging.staging(), home), progress);
    failure(restored).ifPresent(e -> {
      throw e;
    });
    List<String> dbHosts;
    dev.snapstash.core.stage.RuleRunner.Result result;
    try (java.sql.Connection c = Staging.connect(staging.stagingLogin())) {
      c.setAutoCommit(false);
      var runner = new dev.snapstash.core.stage.RuleRunner(c, home, plan.parameters);
      // After the runner set the session's quoting (MySQL), before its rules remove the links and hooks.
      dbHosts = Staging.hostsInDatabase(c);
      result = runner.run(plan.decisions);
    } catch (java.sql.SQLException e) {
      throw new SnapstashException(ErrorKind.UNREACHABLE,
          "cannot connect to the staging database " + staging.stagingLogin().address() + " to sanitise it: "
              + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("")));
    }
    SnapstashConfig.Stage st = staging.staging().config().stage();
    List<String> prodHosts = new ArrayList<>(staging.productionHosts());
    prodHosts.addAll(dbHosts);
    var hosts = dev.snapstash.core.stage.HostsBlock.of(st.hostsAddress(), prodHosts, staging.stagingHosts());
    String applied = null;
    if (plan.request.applyHosts() && result.failure() == null) {
      hosts.apply(st.hostsFile());
      applied = st.hostsFile().toString();
    }
    Path recoveryFile = result.failure() == null ? staging.writeRecoveryPassword() : null;
    String recovery = recoveryFile == null ? null : recoveryFile.toString();
    String jvmArgs = null;
    if (recoveryFile != null && plan.request.jvmArgsFile() != null) {
      dev.snapstash.core.stage.JvmArgsBlock.write(plan.request.jvmArgsFile(), recoveryFile);
      jvmArgs = plan.request.jvmArgsFile().toString();
    }
    var report = new dev.snapstash.core.stage.StageReport(
        plan.tag(), plan.report.bitbucketVersion(), false, staging.now(), home.toString(),
        staging.stagingLogin().address().toString(), staging.ruleFiles(), plan.parameters.shown(), result.outcomes(),
        restored.report(), hosts, applied, dev.snapstash.core.stage.StageReport.AFTER_START, List.of(), recovery,
        jvmArgs, result.failure() == null).writeAudit(staging.auditDir());
    return new Staged(report, result.failure());
  }

  /**
   * {@code stage verify}: this facade's instance (built from the staging file) checked through its REST API as the
   * staging seed's post-start checks ask: base URL, mail server, licence, mirrors, database. Failed checks are in
   * the answer; the caller prints it, then fails with VERIFICATION.
   *
   * @param stagingFile the file's name, for messages
   */
  public dev.snapstash.core.stage.StageVerifier.Verification verifyStage(String stagingFile) {
    return StagingVerify.run(composition, stagingFile);
  }

  // ---- verify and drill

  /**
   * What to verify, and how far.
   *
   * @param tag a backup tag or "latest"
   * @param deep a full {@code git fsck} of every repository within the budget, not a sample
   * @param fsckBudget how long the full fsck may take; null for the configured verify.fsck-budget
   * @param drill also rehearse the restore (see {@link #drill})
   */
  public record VerifyRequest(String tag, boolean deep, Duration fsckBudget, boolean drill) {}

  /**
   * Proves a backup restorable without touching production, in scratch space removed afterwards. A backup that
   * fails a check is returned; {@link #failure(VerifyEngine.Report)} is the error to end with.
   */
  public VerifyEngine.Report verify(VerifyRequest request, Progress progress) {
    return metered("verify", () -> verifyUnmetered(request, progress), Snapstash::failure);
  }

  private VerifyEngine.Report verifyUnmetered(VerifyRequest request, Progress progress) {
    if (request.drill()) {
      requireDrillInstance();
    }
    Path work = ScratchSpace.workDir();
    try {
      Duration budget = request.fsckBudget() != null ? request.fsckBudget() : composition.config().verify().fsckBudget();
      VerifyEngine.Report report = composition.verifyEngine(work, budget).verify(request.tag(), request.deep(), work, progress);
      if (!request.drill()) {
        return report;
      }
      Path drillWork = ScratchSpace.workDir();
      try {
        List<VerifyEngine.Check> checks = new ArrayList<>(report.checks());
        long t0 = System.nanoTime();
        checks.addAll(drill().run(report.tag(), drillWork));
        long drillMillis = (System.nanoTime() - t0) / 1_000_000;
        return new VerifyEngine.Report(
            report.tag(), checks.stream().allMatch(VerifyEngine.Check::ok), checks, report.fsckRepositories(),
            report.deep(), report.fsck(), report.millis() + drillMillis);
      } finally {
        VerifyEngine.cleanup(drillWork);
      }
    } finally {
      VerifyEngine.cleanup(work);
    }
  }

  /**
   * A drill's outcome.
   *
   * @param checks each named {@code drill-…}: the restore, the restored copy's own checks, the database the copy
   *     names, the clones, and the time to a usable instance
   */
  public record DrillReport(String tag, boolean ok, List<VerifyEngine.Check> checks, long millis) {}

  /**
   * The restore rehearsed in scratch space, removed afterwards: restore home and database, start the {@link
   * DrillInstance} on the copy, clone every repository, and measure the time to a usable instance.
   */
  public DrillReport drill(String tagOrLatest) {
    requireDrillInstance();
    String tag = resolveTag(tagOrLatest);
    Path work = ScratchSpace.workDir();
    try {
      long t0 = System.nanoTime();
      List<VerifyEngine.Check> checks = drill().run(tag, work);
      return new DrillReport(
          tag, checks.stream().allMatch(VerifyEngine.Check::ok), List.copyOf(checks), (System.nanoTime() - t0) / 1_000_000);
    } finally {
      VerifyEngine.cleanup(work);
    }
  }

  private Drill drill() {
    return new Drill(composition, database -> restoreEngine(composition, database, InstanceProbe.none()), drillInstance);
  }

  private void requireDrillInstance() {
    if (drillInstance == null) {
      throw new SnapstashException(
          ErrorKind.PRECONDITION, "a drill needs an instance to start on the restored copy, and none was given");
    }
  }

  // ---- metrics

  /**
   * Runs {@code call} and then writes the metrics textfile (when metrics.textfile is set), whether it succeeded,
   * returned a failed result or threw. Writing the metrics never changes the outcome: a failure to write is a
   * warning.
   */
  private <T> T metered(String operation, Supplier<T> call, Function<T, Optional<SnapstashException>> failureOf) {
    long t0 = System.nanoTime();
    T result;
    try {
      result = call.get();
    } catch (RuntimeException e) {
      writeMetrics(operation, t0, e instanceof SnapstashException se ? se.kind() : ErrorKind.INTERNAL);
      throw e;
    }
    writeMetrics(operation, t0, failureOf.apply(result).map(SnapstashException::kind).orElse(null));
    return result;
  }

  private void writeMetrics(String operation, long t0, ErrorKind failure) {
    SnapstashConfig config = composition.config();
    Path file = config.metrics() == null ? null : config.metrics().textfile();
    if (file == null) {
      return;
    }
    Textfile textfile = new Textfile(file);
    // An interrupted run (Ctrl-C, SIGTERM) is worth recording too, but a file channel opened by a thread whose
    // interrupt flag is set closes at once: clear the flag for the write, and set it again after.
    boolean interrupted = Thread.interrupted();
    try {
      RunMetrics.Run run = new RunMetrics.Run(
          operation, Instant.now(), Duration.ofNanos(System.nanoTime() - t0), failure,
          exitCodes == null ? null : failure == null ? 0 : exitCodes.applyAsInt(failure));
      List<Manifest> manifests;
      try {
        manifests = new BackupStore(config.backup().root()).list();
      } catch (SnapstashException e) {
        // An unreadable backup root holds no backup anyone could restore: say so rather than write nothing.
        manifests = List.of();
      }
      List<Manifest> found = manifests;
      boolean replaced = textfile.update(previous -> RunMetrics.after(config.instance().name(), run, found, previous));
      if (replaced) {
        log.warn("the metrics textfile {} was not in the Prometheus text format; it was replaced, and the last runs of"
            + " the other operations are missing from it until they run again", file);
      }
    } catch (java.io.IOException | RuntimeException e) {
      log.warn("could not write the metrics textfile {} (metrics.textfile): {}; the {} itself is not affected", file,
          e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), operation);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---- failures of results

  /** The error a failed preflight ends with: the first problem decides the kind; empty when there is none. */
  public static Optional<SnapstashException> failure(Findings findings) {
    if (!findings.hasProblems()) {
      return Optional.empty();
    }
    Findings.Finding first = findings.problems().get(0);
    return Optional.of(new SnapstashException(
        first.kind() == null ? ErrorKind.PRECONDITION : first.kind(),
        findings.problems().size() + " problem(s) found; the first: " + first.subject() + ": " + first.message()));
  }

  /**
   * The error a backup whose copies to archive destinations failed ends with (ARCHIVE): the backup itself is
   * complete. Empty when every copy was made.
   */
  public static Optional<SnapstashException> failure(Manifest manifest) {
    return Archives.failure(manifest);
  }

  /** The error a failed verification ends with (VERIFICATION), naming the first failed check; empty when it passed. */
  public static Optional<SnapstashException> failure(VerifyEngine.Report report) {
    if (report.ok()) {
      return Optional.empty();
    }
    VerifyEngine.Check first = report.checks().stream().filter(c -> !c.ok()).findFirst().orElseThrow();
    return Optional.of(new SnapstashException(
        ErrorKind.VERIFICATION, "backup " + report.tag() + " failed verification: " + first.name() + ": " + first.detail()));
  }

  /** The error a restored copy that failed its checks ends with (VERIFICATION); empty when it passed. */
  public static Optional<SnapstashException> failure(Restored restored) {
    RestoreEngine.Report report = restored.report();
    if (report.ok()) {
      return Optional.empty();
    }
    VerifyEngine.Check first = report.verification().checks().stream().filter(c -> !c.ok()).findFirst().orElseThrow();
    return Optional.of(new SnapstashException(
        ErrorKind.VERIFICATION,
        "the restored copy of " + report.tag() + " failed verification (" + first.name() + ": " + first.detail()
            + "); it is left in place at " + report.homeTarget() + " and in the target database for inspection"));
  }
}
