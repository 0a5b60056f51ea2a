package dev.snapstash.cli;

import dev.snapstash.core.config.JdbcTarget;
import dev.snapstash.core.engine.Consistency;
import dev.snapstash.core.engine.RestoreEngine;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.function.BooleanSupplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "restore",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    footerHeading = "%nExamples:%n",
    footer = {
      "  # a copy beside production: another home, another database",
      "  snapstash restore latest --home-target /srv/bb-copy \\",
      "      --jdbc-url jdbc:postgresql://db.internal:5432/bb_copy",
      "  # disaster recovery, Bitbucket stopped: replace its home and database",
      "  snapstash restore prod-bitbucket-20260101-020000 --force"
    },
    description = {
      "Restore a backup into the configured home and database, or into --home-target and --jdbc-url.",
      "Refuses a running instance, a non-empty home, a database with tables (unless --force), an incomplete or"
          + " damaged backup, and too little space. Then verifies the restored home and database (exit code 11 if"
          + " they fail; the restored copy is left in place to inspect)."
    })
final class RestoreCommand extends Verb {
  @Parameters(paramLabel = "TAG", description = "A backup tag, or 'latest' for the newest complete backup.")
  String tag;

  @Option(names = "--home-target", paramLabel = "DIR", description = "Restore the home here instead of instance.home.")
  Path homeTarget;

  @Option(
      names = "--jdbc-url",
      paramLabel = "URL",
      description =
          "Restore the database here instead of the configured one, e.g. jdbc:postgresql://HOST:PORT/NAME"
              + " (optionally ?user=NAME); the password stays the configured one and is refused in the URL.")
  String jdbcUrl;

  @Option(
      names = "--no-verify",
      description =
          "Skip the checks of the restored home and database (for instances too large to read twice; run"
              + " 'snapstash verify' separately).")
  boolean noVerify;

  @Option(names = "--force", description = "Replace a non-empty home and a database with tables (asks for the tag).")
  boolean force;

  @Option(names = "--yes", description = "With --force: do not ask (for scripts).")
  boolean yes;

  @Option(names = "--allow-incomplete", description = "Restore a failed or in-progress backup.")
  boolean allowIncomplete;

  @Override
  public Integer call() {
    var config = config();
    if (jdbcUrl != null) {
      config = JdbcTarget.override(config, jdbcUrl);
    }
    Wiring wiring = new Wiring(config, new ProcessRunner());
    Path target = homeTarget != null ? homeTarget : config.instance().home();
    if (force && !yes) {
      confirm(wiring.store().resolve(tag).tag(), target);
    }
    RestoreEngine engine =
        new RestoreEngine(
            wiring.store(), wiring.disk(), wiring.database(), runningProbe(wiring, target), Clock.systemUTC(),
            System::nanoTime, new Consistency(wiring.runner(), new SecureRandom()));
    RestoreEngine.Report report;
    try (ConsoleProgress progress = ConsoleProgress.forThisProcess()) {
      report = engine.restore(new RestoreEngine.Options(tag, target, force, allowIncomplete, !noVerify), progress);
    }
    StringBuilder sb = new StringBuilder();
    sb.append("restored ").append(report.tag()).append(" into ").append(report.homeTarget()).append('\n');
    sb.append("  database          ").append(wiring.database().name()).append(databaseTarget(config)).append('\n');
    sb.append("  duration          ").append(BackupCommand.millis(report.phases().getOrDefault("total", 0L))).append('\n');
    sb.append("  stale Git locks   ").append(report.staleLocksRemoved().size()).append(" removed\n");
    if (report.disasterRecoverySet()) {
      sb.append("  taken without a lock: disaster.recovery=true was set in shared/bitbucket.properties so that\n")
          .append("  Bitbucket checks its integrity at the first start; set it back to false afterwards\n");
    }
    if (report.verification() == null) {
      sb.append("  verification      skipped (--no-verify)\n");
    } else {
      for (VerifyEngine.Check c : report.verification().checks()) {
        sb.append(c.ok() ? "  pass  " : "  FAIL  ").append(String.format("%-20s", c.name())).append(c.detail()).append('\n');
      }
      sb.append(report.ok() ? "the restored copy passed every check" : "VERIFICATION OF THE RESTORED COPY FAILED").append('\n');
    }
    print(report, sb.toString());
    if (!report.ok()) {
      VerifyEngine.Check first = report.verification().checks().stream().filter(c -> !c.ok()).findFirst().orElseThrow();
      throw new SnapstashException(
          ErrorKind.VERIFICATION,
          "the restored copy of " + report.tag() + " failed verification (" + first.name() + ": " + first.detail()
              + "); it is left in place at " + report.homeTarget() + " and in the target database for inspection");
    }
    return ExitCodes.OK;
  }

  /** Where the database went, without credentials. */
  private static String databaseTarget(dev.snapstash.core.config.SnapstashConfig c) {
    var d = c.database();
    return switch (d.type()) {
      case "postgresql" -> " into " + d.postgresql().database() + " at " + d.postgresql().host() + ":" + d.postgresql().port();
      case "mysql" -> " into " + d.mysql().database() + " at " + d.mysql().host() + ":" + d.mysql().port();
      default -> "";
    };
  }

  /** The configured instance is only asked when restoring into its own home: elsewhere it may well run. */
  private static BooleanSupplier runningProbe(Wiring wiring, Path target) {
    var c = wiring.config();
    if (c.instance().baseUrl() == null || !target.toAbsolutePath().normalize().equals(c.instance().home().toAbsolutePath().normalize())) {
      return () -> false;
    }
    return () -> {
      try {
        new dev.snapstash.core.bitbucket.BitbucketClient(c.instance().baseUrl(), "", "", java.time.Duration.ofSeconds(5)).version();
        return true;
      } catch (SnapstashException e) {
        return e.kind() != ErrorKind.UNREACHABLE;
      }
    };
  }

  private void confirm(String resolvedTag, Path target) {
    if (System.console() == null) {
      throw new SnapstashException(
          ErrorKind.USAGE, "--force replaces " + target + " and the target database; confirm with --yes when not on a terminal");
    }
    System.err.printf("This replaces the contents of %s and the target database with backup %s.%nType the tag to confirm: ", target, resolvedTag);
    System.err.flush();
    try {
      String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      if (line == null || !line.strip().equals(resolvedTag)) {
        throw new SnapstashException(ErrorKind.USAGE, "the tag typed did not match; nothing was restored");
      }
    } catch (IOException e) {
      throw new SnapstashException(ErrorKind.USAGE, "could not read the confirmation; nothing was restored");
    }
  }
}
