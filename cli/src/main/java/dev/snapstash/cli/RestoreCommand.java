package dev.snapstash.cli;

import dev.snapstash.core.bitbucket.InstanceProbe;
import dev.snapstash.core.config.JdbcTarget;
import dev.snapstash.core.engine.BitbucketProperties;
import dev.snapstash.core.engine.Consistency;
import dev.snapstash.core.engine.RestoreEngine;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.DatabaseAddress;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
    var configured = config();
    var config = jdbcUrl != null ? JdbcTarget.override(configured, jdbcUrl) : configured;
    Wiring wiring = new Wiring(config, new ProcessRunner());
    Path target = homeTarget != null ? homeTarget : config.instance().home();
    if (force && !yes) {
      confirm(wiring.store().resolve(tag).tag(), target);
    }
    RestoreEngine engine =
        new RestoreEngine(
            wiring.store(), wiring.disk(), wiring.database(),
            instanceProbe(new Wiring(configured, wiring.runner()), wiring, target), Clock.systemUTC(),
            System::nanoTime, new Consistency(wiring.runner(), new SecureRandom()));
    RestoreEngine.Report report;
    try (ConsoleProgress progress = ConsoleProgress.forThisProcess()) {
      report = engine.restore(
          new RestoreEngine.Options(tag, target, force, allowIncomplete, !noVerify, keepProperties), progress);
    }
    StringBuilder sb = new StringBuilder();
    sb.append("restored ").append(report.tag()).append(" into ").append(report.homeTarget()).append('\n');
    sb.append("  database          ").append(wiring.database().name()).append(databaseTarget(wiring.database())).append('\n');
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
    if (!report.ok()) {
      VerifyEngine.Check first = report.verification().checks().stream().filter(c -> !c.ok()).findFirst().orElseThrow();
      throw new SnapstashException(
          ErrorKind.VERIFICATION,
          "the restored copy of " + report.tag() + " failed verification (" + first.name() + ": " + first.detail()
              + "); it is left in place at " + report.homeTarget() + " and in the target database for inspection");
    }
    return ExitCodes.OK;
  }

  /** Where the database went, without credentials: " into DB at HOST:PORT", or nothing for one in the home. */
  private static String databaseTarget(dev.snapstash.core.spi.DatabaseStrategy database) {
    return database.restoredDatabase().map(l -> " into " + l.address()).orElse("");
  }

  /**
   * What answers at the configured instance's base URL, asked only when this restore writes into that instance's
   * home or its database: restored elsewhere, into another database, the copy may well be made while it runs.
   */
  private static InstanceProbe instanceProbe(Wiring configured, Wiring restoring, Path target) {
    var c = configured.config();
    if (c.instance().baseUrl() == null) {
      return InstanceProbe.none();
    }
    List<String> into = new ArrayList<>();
    if (samePath(target, c.instance().home())) {
      into.add("its home " + c.instance().home());
    }
    var own = liveDatabase(configured);
    var restored = restoring.database().restoredDatabase();
    if (own.isPresent() && restored.isPresent() && own.get().sameDatabaseAs(restored.get().address())) {
      into.add("its database " + own.get());
    }
    if (into.isEmpty()) {
      return InstanceProbe.none();
    }
    InstanceProbe http = InstanceProbe.http(c.instance().baseUrl(), configured.transport(), Duration.ofSeconds(5));
    String where = String.join(" and ", into);
    return () -> http.answer().map(a -> new InstanceProbe.Answer(
        a.what() + " (instance.base-url), and this restore would write into " + where, a.certain()));
  }

  /**
   * The database the configured instance works in: the one its home's {@code bitbucket.properties} names, which is
   * what Bitbucket connects to, when that file can be read here; the configured one otherwise. Empty when its
   * database lives in its home (H2), which the home check covers.
   */
  private static java.util.Optional<DatabaseAddress> liveDatabase(Wiring configured) {
    Path home = configured.config().instance().home();
    try {
      if (home != null && Files.isReadable(home.resolve(BitbucketProperties.RELATIVE_PATH))) {
        String url = BitbucketProperties.get(home, "jdbc.url");
        return url == null ? java.util.Optional.empty() : DatabaseAddress.parse(url);
      }
    } catch (SnapstashException e) {
      // Unreadable: fall back to what the configuration says.
    }
    return configured.database().restoredDatabase().map(dev.snapstash.core.spi.JdbcLogin::address);
  }

  private static boolean samePath(Path a, Path b) {
    Path ra = a.toAbsolutePath().normalize();
    Path rb = b.toAbsolutePath().normalize();
    try {
      ra = ra.toRealPath();
      rb = rb.toRealPath();
    } catch (java.io.IOException e) {
      // One does not exist yet: compare as written.
    }
    return ra.equals(rb);
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
