package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.util.Digests;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.util.Tags;
import dev.snapstash.core.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Everything {@code snapstash check} and a backup's preflight look at, before anything is locked: the
 * configuration, each strategy's and notifier's own checks side by side, and the storage (modes, writable, room for
 * the estimate). Changes nothing but the backup root's existence.
 */
final class Preflight {
  private final BackupSetup setup;

  Preflight(BackupSetup setup) {
    this.setup = setup;
  }

  Findings check() {
    BackupEngine.Settings settings = setup.settings();
    Findings f = new Findings();
    // First: a stray fault-injection variable is the one problem that must decide the exit code.
    FaultPoints.check(f);
    // Which SHA-256 the checksums of this run take; the disk strategy says the same of its own fast paths.
    Digests.check(f);
    try {
      Tags.validateName(settings.instanceName());
      f.ok("instance.name", settings.instanceName());
    } catch (SnapstashException e) {
      f.problem("instance.name", e);
    }
    if (!setup.locks() && !setup.disk().capabilities().contains(Capability.ATOMIC_CAPTURE)) {
      f.problem(
          "quiesce.type",
          "quiesce.type none (zero-downtime) needs an atomic snapshot disk strategy such as btrfs; disk.type "
              + setup.disk().name() + " copies file by file and can never be consistent without a lock",
          ErrorKind.CONFIG);
    }
    if (Files.exists(Journal.file(settings.store().root()))) {
      f.problem("journal", Journal.leftover(settings.store().root()).getMessage());
    }
    List<Consumer<Findings>> checks = new ArrayList<>();
    checks.add(setup.quiescer()::check);
    checks.add(setup.disk()::check);
    checks.add(setup.database()::check);
    for (Notifier n : setup.notifications().notifiers()) {
      checks.add(n::check);
    }
    checks.add(setup.archives()::check);
    checks.add(this::checkStorage);
    for (Findings part : inParallel(checks)) {
      f.addAll(part);
    }
    return f;
  }

  /** The error a run stops with when the preflight found problems: each of them, the first deciding the kind. */
  static SnapstashException failure(Findings findings) {
    List<Findings.Finding> problems = findings.problems();
    StringBuilder msg = new StringBuilder("preflight found ");
    msg.append(problems.size() == 1 ? "a problem" : problems.size() + " problems").append(", nothing was locked:");
    for (Findings.Finding p : problems) {
      msg.append("\n  - ").append(p.subject()).append(": ").append(p.message());
    }
    ErrorKind kind = problems.get(0).kind() == null ? ErrorKind.PRECONDITION : problems.get(0).kind();
    return new SnapstashException(kind, msg.toString());
  }

  /**
   * The checks are independent and mostly wait (an HTTP round trip, a JDBC login, a tool's --version), so they
   * run side by side; their findings are merged in the fixed order above, which decides the exit code.
   */
  private static List<Findings> inParallel(List<Consumer<Findings>> checks) {
    ExecutorService pool = Executors.newFixedThreadPool(checks.size(), r -> {
      Thread t = new Thread(r, "preflight");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<Findings>> futures = new ArrayList<>();
      for (var check : checks) {
        futures.add(pool.submit(() -> {
          Findings part = new Findings();
          check.accept(part);
          return part;
        }));
      }
      List<Findings> parts = new ArrayList<>();
      for (Future<Findings> fu : futures) {
        parts.add(fu.get());
      }
      return parts;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted during the preflight checks; nothing was locked", e);
    } catch (ExecutionException e) {
      throw BackupEngine.unwrap(e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  private void checkStorage(Findings f) {
    BackupStore store = setup.settings().store();
    Path root = store.root();
    if (!RootModes.check(store, f)) {
      return;
    }
    try {
      store.modes().createDirectories(root);
      if (!Files.isWritable(root)) {
        f.problem("backup.root", root + " is not writable by this user", ErrorKind.STORAGE);
        return;
      }
      long free = Files.getFileStore(root).getUsableSpace();
      long needed = estimate() + setup.settings().freeSpaceMarginBytes();
      String line = Trees.humanBytes(free) + " free, about " + Trees.humanBytes(needed) + " needed";
      if (free < needed) {
        f.problem("backup.root", "not enough space under " + root + ": " + line + "; free space or prune old backups", ErrorKind.STORAGE);
      } else {
        f.ok("backup.root", root + ": " + line);
      }
    } catch (IOException e) {
      f.problem("backup.root", "cannot use " + root + ": " + e.getMessage(), ErrorKind.STORAGE);
    }
  }

  /**
   * Space the next backup needs: what the last one wrote (hard-linked incrementals write only what changed, but
   * the database is written whole every time), or the home's size for the first backup.
   */
  private long estimate() {
    Optional<Manifest> last = setup.settings().store().latestComplete();
    if (last.isPresent()) {
      Manifest m = last.get();
      long db = m.database() == null ? 0 : m.database().bytes();
      long home = m.home() == null ? 0 : m.home().bytesWritten();
      return db + home;
    }
    return setup.disk().capabilities().contains(Capability.COPIES_HOME)
        ? Trees.sizeAndCount(setup.settings().home())[0]
        : 0;
  }
}
