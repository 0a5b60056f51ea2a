package dev.snapstash.cli;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.engine.RestoreEngine;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.util.Trees;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.sandbox.RunningSandbox;
import dev.snapstash.sandbox.SandboxOptions;
import dev.snapstash.sandbox.load.LoadGenerator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The whole loop on this machine with no configuration: a sandbox instance under push load, a backup while it
 * runs, list, restore into a second home, verify, a second instance started on the restored copy, and every
 * repository cloned from it over HTTP.
 */
@Command(
    name = "quickstart",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    footerHeading = "%nExamples:%n",
    footer = {
      "  snapstash quickstart",
      "  snapstash quickstart --dir /var/tmp/snapstash-demo --keep"
    },
    description = {
      "Try the whole loop on this machine, with no configuration.",
      "Starts a sandbox Bitbucket (H2), pushes to it, backs it up under load, restores, verifies, starts an"
          + " instance on the restored copy and clones from it. Cleans up unless --keep."
    })
final class QuickstartCommand extends Verb {
  @Option(names = "--dir", paramLabel = "DIR", description = "Work here instead of a temporary directory.")
  Path dir;

  @Option(names = "--keep", description = "Keep the instances' files (both are stopped) for a look afterwards.")
  boolean keep;

  @Option(names = "--tls", description = "Serve both instances over https with a self-signed certificate, trusted"
      + " through instance.ca-file.")
  boolean tls;

  @Option(names = "--context-path", paramLabel = "PATH",
      description = "Serve both instances under this path, like /bitbucket.")
  String contextPath;

  @Override
  public Integer call() throws Exception {
    Path work = dir != null ? dir.toAbsolutePath() : Files.createTempDirectory("snapstash-quickstart-");
    if (dir != null && !Trees.isEmptyOrMissing(work)) {
      throw SnapstashException.precondition(work + " is not empty; give an empty or new --dir");
    }
    ProcessRunner runner = new ProcessRunner();
    Map<String, Object> summary = new LinkedHashMap<>();
    long t0 = System.nanoTime();
    RunningSandbox production = null;
    RunningSandbox restoredInstance = null;
    try {
      step("starting a sandbox Bitbucket (H2) in " + work.resolve("production"));
      production = RunningSandbox.start(
          SandboxOptions.defaults(work.resolve("production")).withPort(0).withContent(4, 8, 10, 8).withTls(tls)
              .withContextPath(contextPath),
          runner);
      SandboxOptions restoredOptions =
          SandboxOptions.defaults(work.resolve("restored"))
              .withPort(0)
              .withTls(tls)
              .withContextPath(contextPath)
              .withDatabase(DbKind.H2, null, "sa", work.resolve("production").resolve("db-password"));

      step("pushing from 3 git clients while the backup runs");
      Path ledger = work.resolve("ledger.jsonl");
      RunningSandbox prod = production;
      Thread load =
          new Thread(
              () ->
                  new LoadGenerator(runner, Clock.systemUTC())
                      .run(
                          new LoadGenerator.Options(
                              prod.baseUrl(), "admin", prod.adminPassword(), 3, Duration.ofSeconds(8), 10_000, ledger,
                              work.resolve("load"), prod.caFile())),
              "load");
      load.start();
      waitForPushes(ledger, load);

      SnapstashConfig config = ConfigLoader.load(production.layout().config(), Map.of());
      Snapstash snapstash =
          Snapstash.configure(config).runner(runner).version(Version.get()).build();
      step("backing up under load (lock, drain, database and home in parallel, unlock)");
      Manifest m;
      try (ConsoleProgress progress = ConsoleProgress.forThisProcess()) {
        m = snapstash.backup(progress);
      }
      load.join();
      summary.put("backup", m.tag());
      summary.put("lockWindowMillis", m.lockWindowMillis());
      summary.put("backupMillis", m.totalMillis());
      summary.put("backupBytes", m.bytes());
      summary.put("pushesAcknowledged", LoadGenerator.readLedger(ledger).size());
      summary.put("backups", snapstash.list().entries().size());

      step("restoring " + m.tag() + " into " + work.resolve("restored"));
      RestoreEngine.Report restore =
          snapstash.restore(Snapstash.RestoreRequest.into(m.tag(), work.resolve("restored").resolve("home")), Progress.NONE)
              .report();
      summary.put("restoreMillis", restore.phases().get("total"));

      step("verifying the backup (checksums, scratch database, repositories, git fsck)");
      VerifyEngine.Report verify = snapstash.verify(new Snapstash.VerifyRequest(m.tag(), true, null, false), Progress.NONE);
      // The restore's checks of its own result count too: they are what an operator relies on after a restore.
      List<VerifyEngine.Check> all = new java.util.ArrayList<>(verify.checks());
      all.addAll(restore.verification().checks());
      summary.put("checksPassed", all.stream().filter(VerifyEngine.Check::ok).count() + " of " + all.size());

      step("starting a second instance on the restored copy and cloning every repository from it");
      long tStart = System.nanoTime();
      restoredInstance = RunningSandbox.start(restoredOptions, runner);
      List<String> cloned = SandboxDrillInstance.cloneAll(restoredInstance, work.resolve("clones"), runner);
      summary.put("restoredInstanceUrl", restoredInstance.baseUrl());
      summary.put("repositoriesCloned", cloned.size());
      summary.put("pushesBeforeLockPresent", pushesPresent(ledger, m.lockedAt(), work.resolve("clones")));
      summary.put("timeToUsableInstanceMillis", Duration.ofNanos(System.nanoTime() - tStart).toMillis());
      summary.put("totalMillis", Duration.ofNanos(System.nanoTime() - t0).toMillis());

      if (!verify.ok() || !restore.ok()) {
        throw new SnapstashException(
            ErrorKind.VERIFICATION,
            "the quickstart " + (verify.ok() ? "restore" : "backup") + " failed verification; see the checks above");
      }
    } finally {
      if (restoredInstance != null) {
        restoredInstance.close();
      }
      if (production != null) {
        production.close();
      }
      if (!keep) {
        Trees.deleteRecursively(work);
      }
    }
    summary.put("sampleConfiguration", sample().toString());
    if (keep) {
      summary.put("keptIn", work.toString());
    }
    print(summary, text(summary));
    return ExitCodes.OK;
  }

  private static void step(String what) {
    System.err.println("==> " + what);
  }

  private static void waitForPushes(Path ledger, Thread load) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline && load.isAlive()) {
      if (Files.exists(ledger) && Files.readAllLines(ledger).size() >= 3) {
        return;
      }
      Thread.sleep(100);
    }
    throw new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "the load clients could not push to the sandbox; see the log above");
  }

  /** Every push acknowledged before the lock, found in the clones taken from the restored instance. */
  private static String pushesPresent(Path ledger, Instant lockedAt, Path clones) {
    ProcessRunner runner = new ProcessRunner();
    int before = 0;
    int present = 0;
    for (Map<String, String> push : LoadGenerator.readLedger(ledger)) {
      if (lockedAt == null || !Instant.parse(push.get("time")).isBefore(lockedAt)) {
        continue;
      }
      before++;
      Path clone = clones.resolve(push.get("repo").replace('/', '_'));
      var r =
          runner.runAllowingFailure(
              dev.snapstash.core.process.Command.of("git", "--git-dir=" + clone, "merge-base", "--is-ancestor", push.get("sha"), push.get("ref")).discardingStdout(),
              l -> {});
      if (r.exitCode() == 0) {
        present++;
      }
    }
    if (present != before) {
      throw new SnapstashException(
          ErrorKind.VERIFICATION, (before - present) + " of " + before + " pushes acknowledged before the lock are missing from the restored instance");
    }
    return present + " of " + before;
  }

  /** The commented sample configuration: the checkout's copy when run from it, else one written to a temp file. */
  private static Path sample() throws IOException {
    String home = System.getenv("SNAPSTASH_HOME");
    if (home != null && Files.isRegularFile(Path.of(home, "examples", "snapstash.yml"))) {
      return Path.of(home, "examples", "snapstash.yml");
    }
    Path out = Path.of(System.getProperty("java.io.tmpdir"), "snapstash.sample.yml");
    try (InputStream in = QuickstartCommand.class.getResourceAsStream("/snapstash.yml")) {
      if (in == null) {
        throw SnapstashException.internal("the sample configuration is missing from the jar", null);
      }
      Files.copy(in, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    return out;
  }

  private static String text(Map<String, Object> s) {
    StringBuilder sb = new StringBuilder("\nsnapstash quickstart: the whole loop worked\n");
    sb.append(String.format(Locale.ROOT, "  backup            %s%n", s.get("backup")));
    sb.append(String.format(Locale.ROOT, "  lock window       %s (downtime of the instance)%n", BackupCommand.millis((Long) s.get("lockWindowMillis"))));
    sb.append(String.format(Locale.ROOT, "  backup            %s in %s, under push load (%s pushes acknowledged)%n",
        Trees.humanBytes((Long) s.get("backupBytes")), BackupCommand.millis((Long) s.get("backupMillis")), s.get("pushesAcknowledged")));
    sb.append(String.format(Locale.ROOT, "  restore           %s%n", BackupCommand.millis((Long) s.get("restoreMillis"))));
    sb.append(String.format(Locale.ROOT, "  verify            %s checks passed%n", s.get("checksPassed")));
    sb.append(String.format(Locale.ROOT, "  restored instance %s repositories cloned over HTTP; pushes before the lock present: %s%n",
        s.get("repositoriesCloned"), s.get("pushesBeforeLockPresent")));
    sb.append(String.format(Locale.ROOT, "  time to usable    %s (restored instance start + clones)%n", BackupCommand.millis((Long) s.get("timeToUsableInstanceMillis"))));
    sb.append(String.format(Locale.ROOT, "  total             %s%n", BackupCommand.millis((Long) s.get("totalMillis"))));
    if (s.containsKey("keptIn")) {
      sb.append("  files kept in     ").append(s.get("keptIn")).append('\n');
    }
    sb.append("\nNext: copy ").append(s.get("sampleConfiguration")).append(" to snapstash.yml, adapt it, and run `snapstash check`.\n");
    return sb.toString();
  }
}
