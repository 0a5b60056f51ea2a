package dev.snapstash.cli;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.engine.ArchiveFetch;
import dev.snapstash.core.engine.RestoreEngine;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
      "  snapstash restore prod-bitbucket-20260101-020000 --force",
      "  # from an off-site copy (archive[].name offsite), checked as it streams back",
      "  snapstash restore latest --from offsite --home-target /srv/bb-copy"
    },
    description = {
      "Restore a backup into the configured home and database, or into --home-target and --jdbc-url.",
      "Never writes where a live instance works: a database other clients use, or the home or database of an"
          + " instance that answers at instance.base-url, is refused even with --force. Refuses a non-empty home"
          + " and a database holding anything (unless --force, which replaces them), an incomplete or damaged"
          + " backup, and too little space. Points the restored bitbucket.properties at the restored database"
          + " (unless --keep-properties). Then verifies the restored home and database (exit code 11 if they fail;"
          + " the restored copy is left in place to inspect)."
    })
final class RestoreCommand extends Verb {
  @Parameters(paramLabel = "TAG", description = "A backup tag, or 'latest' for the newest complete backup.")
  String tag;

  @Option(
      names = "--from",
      paramLabel = "DESTINATION",
      description =
          "Restore the copy in this archive destination (archive[].name): it is streamed back into the backup root,"
              + " every member's SHA-256 checked on the way, and then restored like a local backup. TAG 'latest' is"
              + " the newest copy there.")
  String from;

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

  @Option(
      names = "--force",
      description =
          "Replace a non-empty home and a database holding anything (asks for the tag). Never overrides the"
              + " refusal of a database other clients use, or of an instance that answers as Bitbucket.")
  boolean force;

  @Option(names = "--yes", description = "With --force: do not ask (for scripts).")
  boolean yes;

  @Option(names = "--allow-incomplete", description = "Restore a failed or in-progress backup.")
  boolean allowIncomplete;

  @Option(
      names = "--keep-properties",
      description =
          "Leave the JDBC settings of the restored shared/bitbucket.properties as backed up, even when the database"
              + " was restored elsewhere (a Bitbucket started on the copy then connects to the backed-up database).")
  boolean keepProperties;

  @Override
  public Integer call() {
    Snapstash snapstash = snapstash();
    if (from != null) {
      ArchiveFetch.Fetched fetched = snapstash.fetch(from, tag);
      spec.commandLine().getErr().printf(
          "fetched %s from archive %s into %s (%d files, %s), every checksum verified%n", fetched.tag(), fetched.destination(),
          fetched.dir(), fetched.files(), dev.snapstash.core.util.Trees.humanBytes(fetched.bytes()));
      tag = fetched.tag();
    }
    Snapstash.RestorePlan plan =
        snapstash.planRestore(
            new Snapstash.RestoreRequest(tag, homeTarget, jdbcUrl, force, allowIncomplete, !noVerify, keepProperties));
    if (force && !yes) {
      confirm(snapstash.resolveTag(tag), plan.homeTarget());
    }
    Snapstash.Restored restored;
    try (ConsoleProgress progress = ConsoleProgress.forThisProcess()) {
      restored = snapstash.restore(plan, progress);
    }
    RestoreEngine.Report report = restored.report();
    StringBuilder sb = new StringBuilder();
    sb.append("restored ").append(report.tag()).append(" into ").append(report.homeTarget()).append('\n');
    sb.append("  database          ").append(report.databaseStrategy())
        .append(restored.databaseAddress() == null ? "" : " into " + restored.databaseAddress()).append('\n');
    sb.append("  duration          ").append(BackupCommand.millis(report.phases().getOrDefault("total", 0L))).append('\n');
    sb.append("  stale Git locks   ").append(report.staleLocksRemoved().size()).append(" removed\n");
    if (report.properties() != null) {
      var p = report.properties();
      if (p.kept()) {
        sb.append("  WARNING           ").append(p.warning()).append('\n');
      } else {
        sb.append("  bitbucket.properties repointed at the restored database:\n");
        for (var c : p.changes()) {
          sb.append("    ").append(String.format("%-34s", c.key())).append(c.from()).append(" -> ").append(c.to()).append('\n');
        }
        if (p.warning() != null) {
          sb.append("  WARNING           ").append(p.warning()).append('\n');
        }
      }
    }
    if (!report.alternatesRepointed().isEmpty()) {
      sb.append("  forks repointed   ").append(report.alternatesRepointed().size())
          .append(" (objects/info/alternates named the backed-up home; now the origins in this one)\n");
    }
    if (report.disasterRecoverySet()) {
      sb.append("  taken without a lock: disaster.recovery=true was set in shared/bitbucket.properties so that\n")
          .append("  Bitbucket checks its integrity at the first start; set it back to false afterwards\n");
    }
    if (report.verification() == null) {
      sb.append("  verification      skipped (--no-verify)\n");
    } else {
      for (VerifyEngine.Check c : report.verification().checks()) {
        sb.append(c.ok() ? "  pass  " : "  FAIL  ").append(String.format("%-20s", c.name() + "  ")).append(c.detail()).append('\n');
      }
      sb.append(report.ok() ? "the restored copy passed every check" : "VERIFICATION OF THE RESTORED COPY FAILED").append('\n');
    }
    print(report, sb.toString());
    Snapstash.failure(restored).ifPresent(e -> {
      throw e;
    });
    return ExitCodes.OK;
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
