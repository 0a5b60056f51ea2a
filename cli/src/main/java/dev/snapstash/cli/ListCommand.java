package dev.snapstash.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.engine.InProgress;
import dev.snapstash.core.util.Json;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.util.Trees;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;

@Command(
    name = "list",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
      "List backups, newest first: tag, state, size, lock window, duration, where stored.",
      "A backup left in progress by a run that died (killed, out of memory, power loss) shows as 'died': run"
          + " 'snapstash recover' to clean it up. With --json each backup is its manifest as written, and one in"
          + " progress also has \"run\": {\"state\": \"running\" or \"died\", \"pid\", \"recoverable\"}."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  snapstash list",
      "  snapstash --json list | jq -r '.[] | select(.state == \"COMPLETE\") | .tag'",
      "  # the copies in the archive destination named offsite",
      "  snapstash list --from offsite"
    })
final class ListCommand extends Verb {
  @picocli.CommandLine.Option(
      names = "--from",
      paramLabel = "DESTINATION",
      description = "List the copies in this archive destination (archive[].name) instead, from its listing alone.")
  String from;

  @Override
  public Integer call() {
    if (from != null) {
      Snapstash.ArchiveListing copies = snapstash().listArchive(from);
      print(copies.copies(), archiveTable(copies));
      return ExitCodes.OK;
    }
    Snapstash.Listing listing = snapstash().list();
    List<ObjectNode> json = new ArrayList<>();
    for (Snapstash.Entry e : listing.entries()) {
      ObjectNode n = Json.MAPPER.valueToTree(e.manifest());
      if (e.run() != null && e.run().state() != InProgress.State.UNKNOWN) {
        ObjectNode run = n.putObject("run");
        run.put("state", e.run().state() == InProgress.State.RUNNING ? "running" : "died");
        if (e.run().pid() != null) {
          run.put("pid", e.run().pid());
        }
        run.put("recoverable", e.run().recoverable());
      }
      json.add(n);
    }
    print(json, table(listing));
    return ExitCodes.OK;
  }

  static String table(Snapstash.Listing listing) {
    if (listing.entries().isEmpty()) {
      return "no backups under " + listing.root();
    }
    StringBuilder sb = new StringBuilder();
    StringBuilder notes = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-40s %-11s %10s %12s %10s  %s%n", "TAG", "STATE", "SIZE", "LOCK WINDOW", "DURATION", "STORED"));
    for (Snapstash.Entry e : listing.entries()) {
      Manifest m = e.manifest();
      boolean died = e.run() != null && e.run().state() == InProgress.State.DIED;
      sb.append(
          String.format(
              Locale.ROOT,
              "%-40s %-11s %10s %12s %10s  %s%n",
              m.tag(),
              died ? "died" : m.state().name().toLowerCase(Locale.ROOT).replace('_', '-'),
              Trees.humanBytes(m.bytes()),
              lockWindow(m),
              m.finishedAt() == null ? "-" : BackupCommand.millis(m.totalMillis()),
              stored(m)));
      if (died) {
        notes.append(m.tag()).append(": ").append(diedNote(e)).append('\n');
      }
    }
    sb.append("stored under ").append(listing.root()).append('\n');
    return sb.append(notes).toString();
  }

  static String archiveTable(Snapstash.ArchiveListing listing) {
    if (listing.copies().isEmpty()) {
      return "no copies in archive " + listing.destination() + " (" + listing.type() + ")\n";
    }
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-40s %10s %8s  %s%n", "TAG", "SIZE", "AGE", "STORED AT"));
    for (var c : listing.copies()) {
      sb.append(String.format(Locale.ROOT, "%-40s %10s %8s  %s%n", c.tag(), Trees.humanBytes(c.bytes()),
          age(java.time.Duration.between(c.startedAt(), listing.now())), c.storedAt()));
    }
    sb.append(listing.copies().size()).append(" copies in archive ").append(listing.destination()).append(" (")
        .append(listing.type()).append(")\n");
    return sb.toString();
  }

  /** "3d", "5h", "12m": how old a backup is, to the unit that matters. */
  static String age(java.time.Duration d) {
    if (d.isNegative()) {
      return "0m";
    }
    if (d.toDays() > 0) {
      return d.toDays() + "d";
    }
    return d.toHours() > 0 ? d.toHours() + "h" : d.toMinutes() + "m";
  }

  /** What to do about a backup whose run died: recover finishes it from the journal, if the journal is left. */
  private static String diedNote(Snapstash.Entry e) {
    InProgress.Status run = e.run();
    String who = run.pid() == null ? "the run that wrote it" : "its run (pid " + run.pid() + ")";
    return run.recoverable()
        ? "died; run `snapstash recover` (" + who + " is gone, and may have left the instance locked)"
        : "died; " + who + " is gone and left no crash journal, so `snapstash recover` cannot clean it up: remove "
            + e.dir() + " by hand";
  }

  private static String lockWindow(Manifest m) {
    if (m.lockWindowMillis() != null) {
      return BackupCommand.millis(m.lockWindowMillis());
    }
    return m.takenWithoutALock() ? "none" : "-";
  }

  /** The backup root always; a snapshot strategy's local snapshot too while it is kept (a fast restore source). */
  private static String stored(Manifest m) {
    String snapshot = m.home() == null ? null : m.home().details().get("snapshot");
    return snapshot != null && java.nio.file.Files.isDirectory(java.nio.file.Path.of(snapshot))
        ? "backup root + snapshot " + snapshot
        : "backup root";
  }
}
