package dev.snapstash.cli;

import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.util.Trees;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;

@Command(name = "list", description = "List backups, newest first: tag, state, size, lock window, duration.")
final class ListCommand extends Verb {
  @Override
  public Integer call() {
    BackupStore store = new BackupStore(config().backup().root());
    List<Manifest> all = store.list();
    print(all, table(all, store));
    return ExitCodes.OK;
  }

  static String table(List<Manifest> all, BackupStore store) {
    if (all.isEmpty()) {
      return "no backups under " + store.root();
    }
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-40s %-11s %10s %12s %10s  %s%n", "TAG", "STATE", "SIZE", "LOCK WINDOW", "DURATION", "STORED"));
    for (Manifest m : all) {
      sb.append(
          String.format(
              Locale.ROOT,
              "%-40s %-11s %10s %12s %10s  %s%n",
              m.tag(),
              m.state().name().toLowerCase(Locale.ROOT).replace('_', '-'),
              Trees.humanBytes(m.bytes()),
              lockWindow(m),
              m.finishedAt() == null ? "-" : BackupCommand.millis(m.totalMillis()),
              stored(m)));
    }
    sb.append("stored under ").append(store.root()).append('\n');
    return sb.toString();
  }

  private static String lockWindow(Manifest m) {
    if (m.lockWindowMillis() != null) {
      return BackupCommand.millis(m.lockWindowMillis());
    }
    return m.state() == Manifest.State.COMPLETE && "none".equals(m.strategies().get("quiesce")) ? "none" : "-";
  }

  /** The backup root always; a snapshot strategy's local snapshot too while it is kept (a fast restore source). */
  private static String stored(Manifest m) {
    String snapshot = m.home() == null ? null : m.home().details().get("snapshot");
    return snapshot != null && java.nio.file.Files.isDirectory(java.nio.file.Path.of(snapshot))
        ? "backup root + snapshot " + snapshot
        : "backup root";
  }
}
