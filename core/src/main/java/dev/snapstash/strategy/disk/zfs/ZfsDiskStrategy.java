package dev.snapstash.strategy.disk.zfs;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.Capability;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.util.FileModes;
import dev.snapstash.core.util.Tags;
import dev.snapstash.core.util.Trees;
import dev.snapstash.strategy.disk.HomeCopy;
import dev.snapstash.strategy.disk.RsyncCommands;
import dev.snapstash.strategy.disk.RsyncOutput;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The home lives on a ZFS file system. Under the lock the strategy takes one snapshot ({@code zfs snapshot
 * dataset@snapstash-<tag>}): atomic, in constant time whatever the home's size, and with no freeze, since ZFS
 * writes a snapshot as part of one transaction group. After the unlock the snapshot's files, which ZFS shows read
 * only under {@code <mountpoint>/.zfs/snapshot/<name>/} (zfsconcepts(7), "Snapshots"), are copied into the backup
 * with rsync, hard-linked against the previous backup like the other strategies' copies.
 *
 * <p>Why rsync out of {@code .zfs/snapshot} rather than {@code zfs send | zfs receive} or a {@code zfs clone}: a
 * backup must be files in {@code backup.root}, on whatever filesystem that is (a NAS, ext4), that {@code verify}
 * checksums and that restore onto any host; a send stream needs ZFS on the receiving side and a clone stays on the
 * same pool, which a backup must not depend on. Reading the snapshot directory needs no second dataset to create,
 * mount and undo.
 *
 * <p>The newest {@code keep-snapshots} snapshots of this instance stay on the pool after a good backup (a {@code zfs
 * rollback} away); older ones, and every snapshot of a failed run, are destroyed. Snapshots with other names, made
 * by other tools or by hand, are never touched.
 */
public final class ZfsDiskStrategy implements DiskStrategy {
  private static final Logger log = LoggerFactory.getLogger(ZfsDiskStrategy.class);
  private static final String KEY = ZfsSettings.KEY;

  /** File systems below the home that may stay out of the backup: the home's disposable directories. */
  static final Set<String> DISPOSABLE_CHILDREN =
      Set.of("caches", "log", "tmp", "export", "shared/export", "search/data", "shared/search/data");

  private final String dataset;
  private final String zfs;
  private final String prefix;
  private final int keepSnapshots;
  private final Path home;
  private final List<String> excludes;
  private final ProcessRunner runner;

  /**
   * @param home the Bitbucket home: the dataset's mount point or a directory below it
   * @param excludeEmbeddedDatabase whether a database strategy copies the embedded H2 files itself
   */
  public ZfsDiskStrategy(ZfsSettings settings, Path home, boolean excludeEmbeddedDatabase, ProcessRunner runner) {
    ZfsSettings s = settings.validated();
    this.dataset = s.dataset();
    this.zfs = s.binary();
    this.prefix = s.snapshotPrefix();
    this.keepSnapshots = s.keepSnapshots();
    this.home = home.toAbsolutePath().normalize();
    List<String> all = new ArrayList<>(RsyncCommands.DISPOSABLE);
    if (excludeEmbeddedDatabase) {
      all.addAll(RsyncCommands.EMBEDDED_DATABASE);
    }
    this.excludes = List.copyOf(all);
    this.runner = runner;
  }

  @Override
  public String name() {
    return "zfs";
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.COPIES_HOME, Capability.ATOMIC_CAPTURE);
  }

  /** The snapshot a backup with this tag takes: {@code dataset@<prefix><tag>}. */
  String snapshotOf(String tag) {
    return ZfsCommands.snapshotName(dataset, prefix + tag);
  }

  @Override
  public void check(Findings findings) {
    ProcessResult version;
    try {
      version = start(ZfsCommands.version(zfs));
    } catch (SnapstashException e) {
      findings.problem(KEY + ".binary", e);
      return;
    }
    findings.ok(
        "zfs",
        version.exitCode() == 0
            ? String.join(", ", version.stdout().strip().lines().toList())
            : zfs + " (no version: " + version.stderrTail().strip() + ")");
    ProcessResult props = start(ZfsCommands.properties(zfs, dataset));
    if (props.exitCode() != 0) {
      findings.problem(KEY + ".dataset", failed(ZfsCommands.properties(zfs, dataset), props));
      return;
    }
    Map<String, String> p = new LinkedHashMap<>();
    props.stdout().lines().map(l -> l.split("\t", 2)).filter(f -> f.length == 2).forEach(f -> p.put(f[0], f[1]));
    String type = p.getOrDefault("type", "?");
    if (!type.equals("filesystem")) {
      findings.problem(
          KEY + ".dataset",
          dataset + " is a " + type + ", not a file system: a home needs files; set " + KEY + ".dataset to the file"
              + " system that holds instance.home");
      return;
    }
    Optional<Path> mountpoint = absolute(p.getOrDefault("mountpoint", ""));
    if (mountpoint.isEmpty()) {
      findings.problem(
          KEY + ".dataset",
          dataset + " has mountpoint=" + p.get("mountpoint") + ", but its snapshots are read through"
              + " <mountpoint>/.zfs/snapshot: give it a mount point of its own (zfs set mountpoint=<path> " + dataset
              + ")");
      return;
    }
    if (!"yes".equals(p.get("mounted"))) {
      findings.problem(KEY + ".dataset", dataset + " is not mounted (at " + mountpoint.get() + "); mount it: zfs mount " + dataset);
      return;
    }
    if (!home.startsWith(mountpoint.get())) {
      findings.problem(
          "instance.home",
          home + " is not on " + dataset + ", which is mounted at " + mountpoint.get() + "; fix instance.home or "
              + KEY + ".dataset (zfs list -o name,mountpoint)");
      return;
    }
    if (!Files.isDirectory(home)) {
      findings.problem("instance.home", home + " is not a directory; fix instance.home");
      return;
    }
    List<String> missing = childrenInHome();
    if (!missing.isEmpty()) {
      findings.problem(
          "instance.home",
          "the home " + home + " contains other ZFS file systems, which a snapshot of " + dataset + " does not"
              + " include: " + String.join(", ", missing) + "; make them plain directories (only disposable ones"
              + " such as caches/, log/ and tmp/ may be file systems of their own, which keeps them out of the"
              + " backup)");
      return;
    }
    try {
      findings.ok("rsync", runner.run(RsyncCommands.version()).stdout().lines().findFirst().orElse("rsync").strip());
    } catch (SnapstashException e) {
      findings.problem("rsync", "rsync does not run (install rsync): " + e.getMessage());
      return;
    }
    findings.ok(
        "disk.zfs",
        "snapshots of " + dataset + " (mounted at " + mountpoint.get() + ") as " + snapshotOf("<tag>") + ", copied"
            + " out of .zfs/snapshot by rsync; " + keepSnapshots + " kept");
  }

  /** The home's directories (relative) that are file systems of their own and not disposable. */
  private List<String> childrenInHome() {
    ProcessResult r = start(ZfsCommands.fileSystems(zfs, dataset));
    if (r.exitCode() != 0) {
      return List.of();
    }
    List<String> missing = new ArrayList<>();
    for (String line : r.stdout().lines().toList()) {
      String[] f = line.split("\t", 2);
      if (f.length < 2 || f[0].equals(dataset)) {
        continue;
      }
      absolute(f[1]).filter(mp -> mp.startsWith(home) && !mp.equals(home)).ifPresent(mp -> {
        String relative = home.relativize(mp).toString();
        if (!DISPOSABLE_CHILDREN.contains(relative)) {
          missing.add(relative + " (" + f[0] + ")");
        }
      });
    }
    return missing;
  }

  /**
   * The dataset's mount point, with the home on it; the preflight has said so already, but a backup started
   * without one (or a dataset unmounted since) fails here, before the lock, with the key to fix.
   */
  private Path mountpoint() {
    Command c = ZfsCommands.mountpoint(zfs, dataset);
    ProcessResult r = start(c);
    if (r.exitCode() != 0) {
      throw failed(c, r);
    }
    String value = r.stdout().strip();
    Path mountpoint =
        absolute(value)
            .orElseThrow(() -> SnapstashException.precondition(
                KEY + ".dataset " + dataset + " has mountpoint=" + value + "; give it a mount point of its own"));
    if (!home.startsWith(mountpoint)) {
      throw SnapstashException.precondition(
          "instance.home " + home + " is not on " + dataset + ", which is mounted at " + mountpoint + "; fix"
              + " instance.home or " + KEY + ".dataset");
    }
    return mountpoint;
  }

  @Override
  public Run begin(Path backupRoot) {
    return new ZfsRun();
  }

  /** One backup: the mount point it found before the lock, so that nothing but the snapshot runs under it. */
  private final class ZfsRun implements Run {
    private Path mountpoint;

    @Override
    public void prepareBackup(BackupContext context) {
      mountpoint = mountpoint();
    }

    @Override
    public CopyResult backup(BackupContext context) {
      return ZfsDiskStrategy.this.backup(context);
    }

    @Override
    public CopyResult afterUnlock(BackupContext context, CopyResult underLock) {
      if (mountpoint == null) {
        mountpoint = mountpoint();
      }
      return ZfsDiskStrategy.this.afterUnlock(context, underLock, mountpoint);
    }

    @Override
    public void cleanupIncomplete(BackupContext context) {
      ZfsDiskStrategy.this.cleanupIncomplete(context);
    }
  }

  /**
   * Under the lock (or, in zero-downtime mode, right after the database is fixed): one {@code zfs snapshot}, which
   * commits everything written before the call (zfs-snapshot(8): "a snapshot is a read-only copy of a file system
   * at a given point in time"), journaled first so that a run killed during the call leaves it to {@code recover}.
   */
  CopyResult backup(BackupContext context) {
    String snapshot = snapshotOf(context.tag());
    context.undo().add(new DestroySnapshot(zfs, snapshot));
    context.progress().report("home", 0.5, "snapshotting");
    long t = System.nanoTime();
    Command c = ZfsCommands.snapshot(zfs, snapshot);
    ProcessResult r = start(c);
    if (r.exitCode() != 0) {
      throw failed(c, r);
    }
    log.info("snapshot {} taken in {} ms", snapshot, (System.nanoTime() - t) / 1_000_000);
    FaultPoints.hit(FaultPoints.AFTER_SNAPSHOT);
    context.progress().report("home", 1, "snapshot taken");
    return new CopyResult(name(), 0, 0, 0, List.of(), Map.of("snapshot", snapshot));
  }

  /**
   * After the unlock: rsync out of the read-only snapshot into the backup, hard-linked against the previous
   * backup's copy; the files whose previous copy is damaged copied afresh from the snapshot (see {@link
   * dev.snapstash.core.spi.PreviousHomeCheck}); then old snapshots destroyed.
   */
  CopyResult afterUnlock(BackupContext context, CopyResult underLock, Path mountpoint) {
    String name = prefix + context.tag();
    Path source = mountpoint.resolve(".zfs").resolve("snapshot").resolve(name).resolve(mountpoint.relativize(home).toString());
    if (!Files.isDirectory(source)) {
      throw SnapstashException.precondition(
          "the snapshot " + snapshotOf(context.tag()) + " holds no " + home + " (looked for " + source + "): the"
              + " home was moved or removed while the backup ran");
    }
    createDirectories(context.modes(), context.backupDir());
    try {
      Files.createDirectories(context.homeDir());
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + context.homeDir() + ": " + e.getMessage(), e);
    }
    Optional<Path> linkDest = context.previous().map(p -> p.resolve("home")).filter(Files::isDirectory);
    if (linkDest.isPresent()) {
      context.previousCheck().awaitStamps();
    }
    RsyncOutput out =
        HomeCopy.rsync(runner, RsyncCommands.copy(source, context.homeDir(), linkDest, excludes), "home", context.progress());
    List<String> damaged = linkDest.isPresent() ? context.previousCheck().damaged() : List.of();
    if (!damaged.isEmpty()) {
      Path list = context.backupDir().resolve(".damaged.list");
      try {
        Files.writeString(list, RsyncCommands.listFiles(damaged));
        out.addTransfer(
            HomeCopy.rsync(runner, RsyncCommands.copyAfresh(source, context.homeDir(), list, excludes), "home", Progress.NONE));
        Files.deleteIfExists(list);
      } catch (IOException e) {
        throw SnapstashException.storage("cannot write " + list + ": " + e.getMessage(), e);
      }
      log.info("copied {} file(s) afresh from the snapshot rather than share the previous backup's damaged copies", damaged.size());
    }
    Map<String, String> details = new LinkedHashMap<>(underLock.details());
    details.put("transfer", "rsync");
    details.put("excludes", String.join(" ", excludes));
    long[] sizeAndCount = Trees.sizeAndCount(context.homeDir());
    pruneSnapshots(context.tag());
    return new CopyResult(name(), sizeAndCount[0], sizeAndCount[1], out.transferredBytes, List.of(), details);
  }

  /**
   * Keeps the newest {@code keep-snapshots} snapshots of this instance's backups and destroys the rest; a snapshot
   * that cannot be destroyed (someone cloned or held it) is logged and left for the next run. Only this instance's
   * own: two instances may share a dataset's snapshot namespace, and other tools' snapshots are not ours.
   */
  void pruneSnapshots(String newestTag) {
    // A tag is <instance-name>-<yyyyMMdd-HHmmss>: the name is all but the last 16 characters.
    String instance = newestTag.length() > 16 ? newestTag.substring(0, newestTag.length() - 16) : newestTag;
    List<String> tags = localSnapshotTags().stream().filter(t -> Tags.belongsTo(t, instance)).toList();
    for (int i = keepSnapshots; i < tags.size(); i++) {
      try {
        destroySnapshot(zfs, snapshotOf(tags.get(i)), runner);
      } catch (SnapstashException e) {
        log.warn("could not destroy the old snapshot {}: {}", snapshotOf(tags.get(i)), e.getMessage());
      }
    }
  }

  /** Tags that have a snapshot of this strategy's on the dataset, newest first (tags sort by time). */
  List<String> localSnapshotTags() {
    Command c = ZfsCommands.snapshots(zfs, dataset);
    ProcessResult r = start(c);
    if (r.exitCode() != 0) {
      log.warn("cannot list the snapshots of {}: {}", dataset, r.stderrTail().strip());
      return List.of();
    }
    String ours = dataset + "@" + prefix;
    return r.stdout().lines()
        .map(l -> l.split("\t", 2)[0])
        .filter(n -> n.startsWith(ours) && n.length() > ours.length())
        .map(n -> n.substring(ours.length()))
        .sorted(Comparator.reverseOrder())
        .toList();
  }

  void cleanupIncomplete(BackupContext context) {
    String snapshot = snapshotOf(context.tag());
    destroySnapshot(zfs, snapshot, runner);
    context.undo().done(new DestroySnapshot(zfs, snapshot));
    Trees.deleteRecursively(context.homeDir());
  }

  /**
   * Destroys one snapshot this strategy made; nothing to do when it is gone (never made, or destroyed by an earlier
   * clean-up). Also how {@code recover} undoes a snapshot a dead run left.
   */
  static void destroySnapshot(String zfs, String snapshot, ProcessRunner runner) {
    Command exists = ZfsCommands.exists(zfs, snapshot);
    ProcessResult r = start(runner, zfs, exists);
    if (r.exitCode() != 0) {
      if (gone(r)) {
        return;
      }
      throw failed(exists, r, snapshot.substring(0, snapshot.indexOf('@')));
    }
    Command destroy = ZfsCommands.destroy(zfs, snapshot);
    ProcessResult d = start(runner, zfs, destroy);
    if (d.exitCode() != 0 && !gone(d)) {
      throw failed(destroy, d, snapshot.substring(0, snapshot.indexOf('@')));
    }
    log.info("destroyed the snapshot {}", snapshot);
  }

  /** zfs's words for a dataset or snapshot that is not there (lib/libzfs: EZFS_NOENT, and destroy's own). */
  private static boolean gone(ProcessResult r) {
    String err = r.stderrTail();
    return err.contains("does not exist") || err.contains("could not find any snapshots");
  }

  @Override
  public void prepareRestore(RestoreContext context) {
    HomeCopy.refuseUnsafeTarget(context);
  }

  /**
   * From the backup's copy, which is what {@code verify} checked and what survives the pool: into an empty target
   * {@code cp -a}, into a forced non-empty one rsync. The target may be on any filesystem; to back the restored
   * instance up with this strategy again it must be on a ZFS file system, which the administrator creates.
   */
  @Override
  public void restore(RestoreContext context) {
    HomeCopy.restore(
        runner, context.homeDir(), context.homeTarget().toAbsolutePath().normalize(), context.force(), context.progress());
  }

  private ProcessResult start(Command c) {
    return start(runner, zfs, c);
  }

  /**
   * Runs a zfs command whatever its exit code. One that cannot be started at all is a wrong {@code disk.zfs.binary}
   * or a host without OpenZFS, said so with the key rather than as a failed command.
   */
  private static ProcessResult start(ProcessRunner runner, String zfs, Command c) {
    try {
      return runner.runAllowingFailure(c, l -> {});
    } catch (SnapstashException e) {
      if (e.getCause() instanceof IOException io) {
        throw SnapstashException.precondition(
            KEY + ".binary '" + zfs + "' cannot be started (" + io.getMessage() + "); install OpenZFS's zfs"
                + " command (zfsutils-linux) or set " + KEY + ".binary to its path");
      }
      throw e;
    }
  }

  private SnapstashException failed(Command c, ProcessResult r) {
    return failed(c, r, dataset);
  }

  /** A zfs command that ran and failed: a missing dataset says which key to fix, anything else what zfs said. */
  private static SnapstashException failed(Command c, ProcessResult r, String dataset) {
    String said = r.stderrTail().strip();
    if (said.contains("dataset does not exist")) {
      return SnapstashException.precondition(
          KEY + ".dataset " + dataset + " does not exist (zfs: " + said + "); set " + KEY + ".dataset to the file"
              + " system that holds instance.home (zfs list -o name,mountpoint)");
    }
    return new SnapstashException(
        ErrorKind.EXTERNAL_COMMAND, c.display() + " failed with exit code " + r.exitCode() + ": " + said);
  }

  private static Optional<Path> absolute(String value) {
    return value.startsWith("/") ? Optional.of(Path.of(value).normalize()) : Optional.empty();
  }

  private static void createDirectories(FileModes modes, Path dir) {
    try {
      modes.createDirectories(dir);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }
}
