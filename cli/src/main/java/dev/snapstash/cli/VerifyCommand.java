package dev.snapstash.cli;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.config.Durations;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
      "Prove a backup restorable, without touching production.",
      "Checksums, the database dump restored into a private scratch database and cross-checked against the"
          + " repositories, and git fsck: connectivity-only on a sample of repositories, or with --deep a full"
          + " fsck (every object read) of all of them within verify.fsck-budget. A budget that runs out is"
          + " reported, not failed."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  # the newest complete backup, git fsck on a sample",
      "  snapstash verify",
      "  snapstash verify --deep --fsck-budget 30m prod-bitbucket-20260101-020000",
      "  # also restore into scratch space, start an instance, clone every repository",
      "  snapstash --json verify --drill"
    })
final class VerifyCommand extends Verb {
  @Parameters(paramLabel = "TAG", defaultValue = "latest", description = "A backup tag, or 'latest' (default).")
  String tag;

  @Option(
      names = "--deep",
      description = "Full git fsck (every object read) of every repository, within the budget, not a sample.")
  boolean deep;

  @Option(
      names = "--fsck-budget",
      paramLabel = "DURATION",
      converter = BudgetConverter.class,
      description = "With --deep: how long the full fsck may take, e.g. 30m or 2h (default: verify.fsck-budget).")
  Duration fsckBudget;

  @Option(
      names = "--drill",
      description =
          "Also rehearse the restore in scratch space: restore home and database, start an instance on the copy,"
              + " clone every repository, report the time to a usable instance; then remove it all.")
  boolean drill;

  @Override
  public Integer call() {
    if (fsckBudget != null && !deep) {
      throw new SnapstashException(ErrorKind.USAGE, "--fsck-budget bounds the full fsck of --deep; add --deep");
    }
    Snapstash snapstash = snapstash();
    VerifyEngine.Report report;
    try (ConsoleProgress progress = ConsoleProgress.forThisProcess()) {
      report = snapstash.verify(new Snapstash.VerifyRequest(tag, deep, fsckBudget, drill), progress);
    }
    StringBuilder sb = new StringBuilder("verify ").append(report.tag()).append('\n');
    for (VerifyEngine.Check c : report.checks()) {
      sb.append(c.ok() ? "  pass  " : "  FAIL  ").append(String.format("%-20s", c.name() + "  ")).append(c.detail()).append('\n');
    }
    sb.append(report.ok() ? "all checks passed" : "VERIFICATION FAILED").append(" in ").append(BackupCommand.millis(report.millis()));
    Manifest.Fsck fsck = report.fsck();
    if (fsck.budgetExhausted()) {
      sb.append("; git fsck covered ").append(fsck.checked()).append(" of ").append(fsck.total())
          .append(" repositories within its budget of ").append(Durations.format(fsck.budget()))
          .append(" (the next --deep starts with the rest)");
    }
    sb.append('\n');
    print(report, sb.toString());
    Snapstash.failure(report).ifPresent(e -> {
      throw e;
    });
    return ExitCodes.OK;
  }

  /** A duration as the configuration writes it (30s, 5m, 1h30m), longer than zero. */
  static final class BudgetConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      Duration d;
      try {
        d = Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException("'" + value + "' " + e.getMessage());
      }
      if (d.isZero()) {
        throw new TypeConversionException("'" + value + "' is not longer than zero");
      }
      return d;
    }
  }
}
