package dev.snapstash.cli;

import dev.snapstash.core.engine.RecoverEngine;
import picocli.CommandLine.Command;

@Command(
    name = "recover",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    footerHeading = "%nExamples:%n",
    footer = {
      "  # a backup whose run died shows as 'died' in the list",
      "  snapstash list",
      "  snapstash recover"
    },
    description = {
      "Finish the clean-up of a run that died (killed, out of memory, power loss).",
      "Replays its crash journal: thaw, cancel the backup task, unlock, delete snapshots, remove the partial"
          + " backup. Safe to run any time."
    })
final class RecoverCommand extends Verb {
  @Override
  public Integer call() {
    RecoverEngine.Report r = snapstash().recover();
    String text =
        r.undone().isEmpty()
            ? "nothing to recover\n"
            : "recovered " + (r.tag() != null ? r.tag() : "a dead run") + ":\n  " + String.join("\n  ", r.undone()) + "\n";
    print(r, text);
    return ExitCodes.OK;
  }
}
