package dev.snapstash.cli;

import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "verify",
    description = {
      "Prove a backup restorable, without touching production.",
      "Checksums, the database dump restored into a private scratch database and cross-checked against the",
      "repositories, and git fsck on a sample of repositories (all with --deep)."
    })
final class VerifyCommand extends Verb {
  @Parameters(paramLabel = "TAG", defaultValue = "latest", description = "A backup tag, or 'latest' (default).")
  String tag;

  @Option(names = "--deep", description = "Run git fsck on every repository, not a sample.")
  boolean deep;

  @Option(
      names = "--drill",
      description =
          "Also rehearse the restore in scratch space: restore home and database, start an instance on the copy,"
              + " clone every repository, report the time to a usable instance; then remove it all.")
  boolean drill;

  @Override
  public Integer call() {
    var config = config();
    ProcessRunner runner = new ProcessRunner();
    Wiring wiring = new Wiring(config, runner);
    Path work = ScratchDatabases.workDir();
    VerifyEngine.Report report;
    try (ConsoleProgress progress = ConsoleProgress.forThisProcess()) {
      report = wiring.verifyEngine(work).verify(tag, deep, work, progress);
      if (drill) {
        Path drillWork = ScratchDatabases.workDir();
        try {
          var checks = new java.util.ArrayList<>(report.checks());
          long t0 = System.nanoTime();
          checks.addAll(Drill.run(wiring, report.tag(), drillWork, runner));
          long drillMillis = (System.nanoTime() - t0) / 1_000_000;
          report =
              new VerifyEngine.Report(
                  report.tag(), checks.stream().allMatch(VerifyEngine.Check::ok), checks, report.fsckRepositories(),
                  report.deep(), report.millis() + drillMillis);
        } finally {
          VerifyEngine.cleanup(drillWork);
        }
      }
    } finally {
      VerifyEngine.cleanup(work);
    }
    StringBuilder sb = new StringBuilder("verify ").append(report.tag()).append('\n');
    for (VerifyEngine.Check c : report.checks()) {
      sb.append(c.ok() ? "  pass  " : "  FAIL  ").append(String.format("%-20s", c.name())).append(c.detail()).append('\n');
    }
    sb.append(report.ok() ? "all checks passed" : "VERIFICATION FAILED").append(" in ").append(BackupCommand.millis(report.millis())).append('\n');
    print(report, sb.toString());
    if (!report.ok()) {
      VerifyEngine.Check first = report.checks().stream().filter(c -> !c.ok()).findFirst().orElseThrow();
      throw new SnapstashException(
          ErrorKind.VERIFICATION, "backup " + report.tag() + " failed verification: " + first.name() + ": " + first.detail());
    }
    return ExitCodes.OK;
  }
}
