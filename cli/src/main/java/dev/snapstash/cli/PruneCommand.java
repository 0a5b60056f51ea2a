package dev.snapstash.cli;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.engine.Archives;
import dev.snapstash.core.engine.Pruner;
import dev.snapstash.core.engine.Retention;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.util.Trees;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "prune",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    footerHeading = "%nExamples:%n",
    footer = {
      "  snapstash prune --keep-last 7 --keep-weekly 4 --dry-run",
      "  # with the rules of retention.* in the configuration",
      "  snapstash prune"
    },
    description = {
      "Delete backups that the retention rules do not keep.",
      "Options override retention.* from the configuration. The newest complete backup and backups in progress are"
          + " never deleted. Then each archive destination keeps what its own archive[].keep-* say (the options do"
          + " not apply there); its newest copy is never deleted either."
    })
final class PruneCommand extends Verb {
  @Option(names = "--keep-last", paramLabel = "N", description = "Keep the newest N complete backups.")
  Integer keepLast;

  @Option(names = "--keep-daily", paramLabel = "N", description = "Keep the newest backup of each of the last N days.")
  Integer keepDaily;

  @Option(names = "--keep-weekly", paramLabel = "N", description = "Keep the newest backup of each of the last N weeks.")
  Integer keepWeekly;

  @Option(names = "--keep-monthly", paramLabel = "N", description = "Keep the newest backup of each of the last N months.")
  Integer keepMonthly;

  @Option(names = "--dry-run", description = "Show what would be deleted; delete nothing.")
  boolean dryRun;

  @Override
  public Integer call() {
    Snapstash snapstash = snapstash();
    boolean anyOption = keepLast != null || keepDaily != null || keepWeekly != null || keepMonthly != null;
    Retention.Policy policy;
    try {
      policy =
          anyOption
              ? new Retention.Policy(or(keepLast), or(keepDaily), or(keepWeekly), or(keepMonthly))
              : snapstash.configuredRetention();
    } catch (IllegalArgumentException e) {
      throw new SnapstashException(ErrorKind.USAGE, "--keep-* values cannot be negative");
    }
    boolean archives = snapstash.archivesHaveRetention();
    StringBuilder sb = new StringBuilder();
    Pruner.Result result = null;
    if (policy.isEmpty() && archives) {
      sb.append("local backups: no retention rule, none removed\n");
    } else {
      result = snapstash.prune(policy, dryRun);
      if (archives) {
        sb.append("local backups:\n");
      }
      result.kept().forEach((tag, why) -> sb.append("keep    ").append(tag).append("  (").append(String.join(", ", why)).append(")\n"));
      for (String tag : result.removed()) {
        sb.append(dryRun ? "would remove " : "removed ").append(tag).append('\n');
      }
      if (!dryRun) {
        sb.append(Trees.humanBytes(result.bytesFreed())).append(" freed\n");
      }
    }
    List<Archives.PruneResult> copies = snapstash.pruneArchives(dryRun);
    for (Archives.PruneResult r : copies) {
      sb.append("archive ").append(r.destination()).append(":\n");
      r.kept().forEach((tag, why) -> sb.append("keep    ").append(tag).append("  (").append(String.join(", ", why)).append(")\n"));
      for (String tag : r.removed()) {
        sb.append(dryRun ? "would remove " : "removed ").append(tag).append('\n');
      }
    }
    if (copies.isEmpty()) {
      print(result, sb.toString());
    } else {
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("local", result);
      json.put("archives", copies);
      print(json, sb.toString());
    }
    return ExitCodes.OK;
  }

  private static int or(Integer v) {
    return v == null ? 0 : v;
  }
}
