package dev.snapstash.cli;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "stage",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    footerHeading = "%nExamples:%n",
    footer = {
      "  # what a refresh would do, changing nothing",
      "  snapstash stage --from latest -c prod.yml --staging staging.yml --plan",
      "  # the refresh, unattended",
      "  snapstash stage --from latest -c prod.yml --staging staging.yml --yes",
      "  # after the first start: check the running staging instance",
      "  snapstash stage verify --staging staging.yml"
    },
    subcommands = StageVerifyCommand.class,
    description = {
      "Refresh a staging instance from a production backup: restore it into the staging home and database of"
          + " --staging, then sanitise the copy by the shipped rules and stage.rules-file (base URL, server id,"
          + " proxy settings, mirrors, application links, webhooks, hooks, chat tokens, licence), each verified,"
          + " and write an audit beside the staging home.",
      "First refuses, writing nothing, a staging file whose home, base URL or database could be production's"
          + " (exit code 3, naming the key to fix). Replaces what the previous refresh left in the staging home"
          + " and database; never a database a live instance uses. See docs/staging.md."
    })
final class StageCommand extends Verb {
  // Not required in picocli's sense: `stage verify` is parsed through this command and needs neither.
  @Option(names = "--from", paramLabel = "TAG", description = "The backup: a tag, or 'latest' (required).")
  String from;

  @Option(
      names = "--staging",
      paramLabel = "FILE",
      description =
          "The staging instance's configuration (its home, base URL and database), with a stage: section. SNAPSTASH_*"
              + " environment overrides apply to -c only, never to this file.")
  Path staging;

  @Option(names = "--plan", description = "Show what the refresh would change, and change nothing.")
  boolean plan;

  @Option(names = "--yes", description = "Do not ask before replacing the staging home and database (for schedules).")
  boolean yes;

  @Option(names = "--apply-hosts", description = "Write the block of production's host names into stage.hosts-file.")
  boolean applyHosts;

  @Option(
      names = "--apply-jvm-args",
      paramLabel = "FILE",
      description =
          "Write Atlassian's lockout recovery (-Datlassian.recovery.password with the password of the 0600 file the"
              + " refresh writes) into JVM_SUPPORT_RECOMMENDED_ARGS of this start environment file of the staging"
              + " installation (bin/_start-webapp.sh, or setenv.sh before 5.0), between markers; the password is"
              + " never printed. Remove the block after the first start.")
  Path applyJvmArgs;

  @Option(
      names = "--plan-file",
      paramLabel = "FILE",
      description =
          "With --plan: write the reviewable plan here. Without: refuse (exit 7, changing nothing) unless the refresh"
              + " would do exactly what that reviewed plan says (for unattended refreshes with --yes).")
  Path planFile;

  @Override
  public Integer call() {
    if (from == null || staging == null) {
      throw new SnapstashException(ErrorKind.USAGE,
          "stage needs " + (from == null ? "--from TAG (a backup tag, or 'latest')" : "--staging FILE")
              + (from == null && staging == null ? " and --staging FILE" : ""));
    }
    // Overrides name keys, not files: one meant for production's file must not move staging onto production.
    Map<String, String> env =
        System.getenv().entrySet().stream()
            .filter(e -> !e.getKey().startsWith("SNAPSTASH_"))
            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    SnapstashConfig stagingConfig = ConfigLoader.load(staging, env);
    Snapstash snapstash = snapstash();
    String approved = null;
    if (planFile != null && !plan) {
      try {
        approved = java.nio.file.Files.readString(planFile, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new SnapstashException(ErrorKind.USAGE, "cannot read --plan-file " + planFile + ": " + e.getClass().getSimpleName());
      }
    }
    Snapstash.StagePlan stagePlan =
        snapstash.planStage(
            new Snapstash.StageRequest(from, stagingConfig, staging.toString(), applyHosts, approved, applyJvmArgs));
    if (plan) {
      if (planFile != null) {
        try {
          java.nio.file.Files.writeString(planFile, stagePlan.report().reviewable(), StandardCharsets.UTF_8);
        } catch (IOException e) {
          throw new SnapstashException(ErrorKind.STORAGE, "cannot write --plan-file " + planFile + ": " + e.getMessage());
        }
      }
      print(stagePlan.report(), stagePlan.report().text());
      return ExitCodes.OK;
    }
    if (!yes) {
      confirm(stagePlan);
    }
    Snapstash.Staged staged;
    try (ConsoleProgress progress = ConsoleProgress.forThisProcess()) {
      staged = snapstash.stage(stagePlan, progress);
    }
    print(staged.report(), staged.report().text());
    if (staged.failure() != null) {
      throw staged.failure();
    }
    return ExitCodes.OK;
  }

  private void confirm(Snapstash.StagePlan p) {
    String what = p.report().stagingHome() + " and the database " + p.report().stagingDatabase();
    if (System.console() == null) {
      throw new SnapstashException(
          ErrorKind.USAGE, "stage replaces " + what + "; confirm with --yes when not on a terminal");
    }
    System.err.printf("This replaces %s with backup %s, then sanitises them.%nType the tag to confirm: ", what, p.tag());
    System.err.flush();
    try {
      String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      if (line == null || !line.strip().equals(p.tag())) {
        throw new SnapstashException(ErrorKind.USAGE, "the tag typed did not match; nothing was staged");
      }
    } catch (IOException e) {
      throw new SnapstashException(ErrorKind.USAGE, "could not read the confirmation; nothing was staged");
    }
  }
}
