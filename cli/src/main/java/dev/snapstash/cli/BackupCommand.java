package dev.snapstash.cli;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.util.Trees;
import java.util.Locale;
import picocli.CommandLine.Command;

@Command(
    name = "backup",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "Take a consistent backup: preflight, pre-copy, lock, drain, copy home and database, unlock.",
    footerHeading = "%nExamples:%n",
    footer = {
      "  snapstash backup",
      "  # from cron: first finish the clean-up of a run that died, if one did",
      "  snapstash -c /etc/snapstash/snapstash.yml backup --auto-recover"
    })
final class BackupCommand extends Verb {
  @picocli.CommandLine.Option(
      names = "--auto-recover",
      description = "If a previous run died and left its journal, finish its clean-up first (as `recover`).")
  boolean autoRecover;

  @Override
  public Integer call() {
    Snapstash snapstash = snapstash();
    if (autoRecover) {
      snapstash.recoverLeftover().ifPresent(
          r -> spec.commandLine().getErr().println("recovered the previous run: " + String.join("; ", r.undone())));
    }
    Manifest m;
    try (ConsoleProgress progress = ConsoleProgress.forThisProcess()) {
      m = snapstash.backup(progress);
    }
    print(m, summary(m));
    Snapstash.failure(m).ifPresent(e -> {
      throw e;
    });
    return ExitCodes.OK;
  }

  static String summary(Manifest m) {
    StringBuilder sb = new StringBuilder();
    sb.append("backup ").append(m.tag()).append(' ').append(m.state().name().toLowerCase(Locale.ROOT)).append('\n');
    sb.append(String.format(Locale.ROOT, "  size         %s (%s written)%n", Trees.humanBytes(m.bytes()),
        Trees.humanBytes((m.home() == null ? 0 : m.home().bytesWritten()) + (m.database() == null ? 0 : m.database().bytes()))));
    sb.append(String.format(Locale.ROOT, "  lock window  %s%n", m.lockWindowMillis() == null ? "none (not locked)" : millis(m.lockWindowMillis())));
    if (m.bytesUnderLock() != null) {
      sb.append(String.format(Locale.ROOT, "  under lock   %s copied%n", Trees.humanBytes(m.bytesUnderLock())));
    }
    sb.append(String.format(Locale.ROOT, "  duration     %s%n", millis(m.totalMillis())));
    if (m.repaired() != null) {
      sb.append(String.format(Locale.ROOT, "  repaired     %d file(s) damaged in %s, copied afresh (`snapstash verify %s` shows them)%n",
          m.repaired().count(), m.repaired().previous(), m.repaired().previous()));
    }
    if (m.archives() != null) {
      for (Manifest.Archive a : m.archives()) {
        sb.append(a.ok()
            ? String.format(Locale.ROOT, "  archive      %s: %s (%s) in %s%s%n", a.destination(), a.location(),
                Trees.humanBytes(a.bytes()), millis(a.millis()),
                a.pruned().isEmpty() ? "" : ", " + a.pruned().size() + " older copies removed")
            : String.format(Locale.ROOT, "  archive      %s: FAILED: %s%n", a.destination(), a.error()));
      }
    }
    return sb.toString();
  }

  static String millis(long ms) {
    return String.format(Locale.ROOT, "%.3fs", ms / 1000.0);
  }
}
