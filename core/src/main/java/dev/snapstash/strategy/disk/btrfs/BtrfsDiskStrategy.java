package dev.snapstash.strategy.disk.btrfs;

import dev.snapstash.core.util.Tags;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DiskStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.RestoreContext;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.util.Trees;
import dev.snapstash.strategy.disk.HomeCopy;
import dev.snapstash.strategy.disk.RsyncCommands;
import dev.snapstash.strategy.disk.RsyncOutput;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The home is a btrfs subvolume. Under the lock the strategy only syncs and takes a read-only snapshot, which is
 * atomic and takes a fraction of a second whatever the home's size; the copy into the backup happens after the
 * unlock, from the frozen snapshot: {@code btrfs send | btrfs receive} onto a btrfs backup root (incremental
 * against the previous snapshot), or rsync onto any other filesystem (hard-linked against the previous backup).
 *
 * <p>Snapshots live in {@code <snapshot-directory>/<tag>/home}, so that a received copy is named {@code home} in
 * the backup like every other strategy's. The newest {@code keep-snapshots} stay on the home's filesystem: the
 * newest is the parent of the next incremental send. Because the snapshot is atomic, this strategy also makes a
 * backup without any lock (zero-downtime mode) consistent, and carries a database whose data directory lives in
 * the home (crash-consistent, like a power cut).
 */
public final class BtrfsDiskStrategy implements DiskStrategy {
  private static final Logger log = LoggerFactory.getLogger(BtrfsDiskStrategy.class);
  static final String KEY = "disk.btrfs";
  public static final String SNAPSHOT_KIND = "btrfs-subvolume";
  /** The inode number of every btrfs subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
  private static final long SUBVOLUME_ROOT_INODE = 256;

  enum Transfer {
    SEND,
    RSYNC
  }

  private final Path home;
  private final Path snapshots;
  private final String transfer;
  private final int keepSnapshots;
  private final Path backupRoot;
  private final List<String> excludes;
  private final ProcessRunner runner;

  /**
   * @param home the Bitbucket home, which must be a btrfs subvolume
   * @param backupRoot where backups go, to choose the transfer when it is {@code auto}
   * @param excludeEmbeddedDatabase whether a database strategy copies the embedded H2 files itself (rsync transfer)
   */
  public BtrfsDiskStrategy(
      BtrfsSettings config, Path home, Path backupRoot, boolean excludeEmbeddedDatabase, ProcessRunner runner) {
    BtrfsSettings c = config == null ? new BtrfsSettings("", "auto", 1) : config;
    if (!List.of("auto", "send", "rsync").contains(c.transfer())) {
      throw SnapstashException.config(KEY + ".transfer must be auto, send or rsync, not '" + c.transfer() + "'");
    }
    if (c.keepSnapshots() < 1) {
      throw SnapstashException.config(
          KEY + ".keep-snapshots must be at least 1 (the newest snapshot is the parent of the next send), not "
              + c.keepSnapshots());
    }
    this.home = home.toAbsolutePath().normalize();
    this.snapshots =
        c.snapshotDirectory() == null || c.snapshotDirectory().isBlank()
            ? this.home.resolveSibling(".snapstash-snapshots")
            : Path.of(c.snapshotDirectory()).toAbsolutePath().normalize();
    this.transfer = c.transfer();
    this.keepSnapshots = c.keepSnapshots();
    this.backupRoot = backupRoot.toAbsolutePath().normalize();
    List<String> all = new ArrayList<>(RsyncCommands.DISPOSABLE);
    if (excludeEmbeddedDatabase) {
      all.addAll(RsyncCommands.EMBEDDED_DATABASE);
    }
    this.excludes = List.copyOf(all);
    this.runner = runner;
  }

  @Override
  public String name() {
    return "btrfs";
  }

  @Override
  public java.util.Set<dev.snapstash.core.spi.Capability> capabilities() {
    return java.util.Set.of(dev.snapstash.core.spi.Capability.COPIES_HOME, dev.snapstash.core.spi.Capability.ATOMIC_CAPTURE);
  }

  Path snapshotDirectory() {
    return snapshots;
  }

  Path snapshotOf(String tag) {
    return snapshots.resolve(tag).resolve("home");
  }

  @Override
  public void check(Findings findings) {
    try {
      findings.ok("btrfs", runner.run(BtrfsCommands.version()).stdout().strip());
    } catch (SnapstashException e) {
      findings.problem("btrfs", "btrfs-progs is not installed or does not run (install btrfs-progs): " + e.getMessage());
      return;
    }
    if (!Files.isDirectory(home)) {
      findings.problem("instance.home", home + " is not a directory; fix instance.home");
      return;
    }
    ProcessResult show = runner.runAllowingFailure(BtrfsCommands.show(home), l -> {});
    if (show.exitCode() != 0) {
      findings.problem(
          "instance.home",
          home + " is not a btrfs subvolume, so it cannot be snapshotted; make the home its own subvolume"
              + " (btrfs subvolume create) or use disk.type rsync");
      return;
    }
    List<String> missing = nestedWithData(show.stdout().lines().findFirst().orElse("").strip());
    if (!missing.isEmpty()) {
      findings.problem(
          "instance.home",
          "the home " + home + " contains other subvolumes, which a snapshot of it would not include: "
              + String.join(", ", missing) + "; make them plain directories (only disposable ones such as caches/,"
              + " log/ and tmp/ may be subvolumes, which keeps them out of the backup)");
      return;
    }
    if (snapshots.startsWith(home)) {
      findings.problem(
          KEY + ".snapshot-directory",
          snapshots + " is inside the home; put " + KEY + ".snapshot-directory outside it, on the same filesystem");
      return;
    }
    Optional<Mount> homeMount = mount(home);
    Path existing = nearestExisting(snapshots);
    Optional<Mount> snapMount = mount(existing);
    if (homeMount.isEmpty() || snapMount.isEmpty() || !homeMount.get().device().equals(snapMount.get().device())) {
      findings.problem(
          KEY + ".snapshot-directory",
          snapshots + " is not on the home's btrfs filesystem (" + homeMount.map(Mount::device).orElse("?")
              + "); a snapshot can only be made on the same filesystem: fix " + KEY + ".snapshot-directory");
      return;
    }
    if (!Files.isWritable(existing)) {
      findings.problem(KEY + ".snapshot-directory", existing + " is not writable by this user; run as root");
      return;
    }
    try {
      Transfer t = transfer();
      findings.ok("disk.btrfs", "snapshots of " + home + " in " + snapshots + ", copied out by " + t.name().toLowerCase());
    } catch (SnapstashException e) {
      findings.problem(KEY + ".transfer", e.getMessage(), e.kind());
    }
  }

  /**
   * Subvolumes below the home that hold data a backup needs. A snapshot stops at a nested subvolume (it shows as
   * an empty directory), which is the btrfs way to keep disposable directories (caches, logs, temporary files)
   * out of every snapshot and send stream; anywhere else it would silently drop data.
   */
  private List<String> nestedWithData(String homeListed) {
    ProcessResult nested = runner.runAllowingFailure(BtrfsCommands.nested(home), l -> {});
    if (nested.exitCode() != 0) {
      return List.of();
    }
    List<String> missing = new ArrayList<>();
    for (String line : nested.stdout().lines().toList()) {
      // "ID 257 gen 9 top level 5 path home/caches": the path is relative to the filesystem's top level.
      int at = line.indexOf(" path ");
      if (at < 0) {
        continue;
      }
      String path = line.substring(at + 6).strip();
      String relative = relativeTo(homeListed, path);
      if (!DISPOSABLE_SUBVOLUMES.contains(relative)) {
        missing.add(relative);
      }
    }
    return missing;
  }

  /** Nested subvolumes that may stay out of the backup: the home's disposable directories. */
  static final java.util.Set<String> DISPOSABLE_SUBVOLUMES =
      java.util.Set.of("caches", "log", "tmp", "export", "shared/export", "search/data", "shared/search/data");

  /**
   * {@code btrfs subvolume list} prints paths from the filesystem's top level, which need not be its mount point;
   * {@code btrfs subvolume show} prints the home's own path the same way on its first line.
   */
  static String relativeTo(String homeListed, String listed) {
    String prefix = homeListed.equals("/") || homeListed.startsWith("<FS_TREE>") ? "" : homeListed + "/";
    return listed.startsWith(prefix) ? listed.substring(prefix.length()) : listed;
  }

  /** How the snapshot gets into the backup: {@code send} needs a btrfs backup root. */
  Transfer transfer() {
    boolean btrfsRoot = mount(nearestExisting(backupRoot)).map(m -> m.type().equals("btrfs")).orElse(false);
    return switch (transfer) {
      case "send" -> {
        if (!btrfsRoot) {
          throw SnapstashException.config(
              KEY + ".transfer is send, but backup.root " + backupRoot + " is not on btrfs; use rsync or auto");
        }
        yield Transfer.SEND;
      }
      case "rsync" -> Transfer.RSYNC;
      default -> btrfsRoot ? Transfer.SEND : Transfer.RSYNC;
    };
  }

  /**
   * A backup by this strategy keeps nothing between its steps beyond what the context names (the snapshot's path
   * comes from the tag), so its run is these methods as they are.
   */
  @Override
  public Run begin(Path backupRoot) {
    return new Run() {
      @Override
      public void prepareBackup(BackupContext context) {
        BtrfsDiskStrategy.this.prepareBackup(context);
      }

      @Override
      public CopyResult backup(BackupContext context) {
        return BtrfsDiskStrategy.this.backup(context);
      }

      @Override
      public CopyResult afterUnlock(BackupContext context, CopyResult underLock) {
        return BtrfsDiskStrategy.this.afterUnlock(context, underLock);
      }

      @Override
      public void cleanupIncomplete(BackupContext context) {
        BtrfsDiskStrategy.this.cleanupIncomplete(context);
      }
    };
  }

  /**
   * Before the lock: write the filesystem's dirty data out while the instance is live, so that the snapshot under
   * the lock has little left to flush.
   */
  void prepareBackup(BackupContext context) {
    createDirectories(context.modes(), snapshotOf(context.tag()).getParent());
    runner.run(BtrfsCommands.sync(home));
  }

  /**
   * Under the lock (or, in zero-downtime mode, right after the database is fixed): one atomic snapshot. No second
   * sync here: creating a snapshot flushes the subvolume's delayed allocations and waits for its ordered extents
   * before committing (the kernel's create_snapshot), so everything written before the call is in it; a syncfs
   * would only add a second transaction commit to the lock window.
   */
  CopyResult backup(BackupContext context) {
    Path snapshot = snapshotOf(context.tag());
    createDirectories(context.modes(), snapshot.getParent());
    DeleteSnapshot undo = new DeleteSnapshot(snapshot);
    context.undo().add(undo);
    context.progress().report("home", 0.5, "snapshotting");
    long t = System.nanoTime();
    runner.run(BtrfsCommands.snapshotReadOnly(home, snapshot));
    log.info("read-only snapshot {} taken in {} ms", snapshot, (System.nanoTime() - t) / 1_000_000);
    FaultPoints.hit(FaultPoints.AFTER_SNAPSHOT);
    context.progress().report("home", 1, "snapshot taken");
    Map<String, String> details = new LinkedHashMap<>();
    details.put("snapshot", snapshot.toString());
    return new CopyResult(name(), 0, 0, 0, List.of(), details);
  }

  /** After the unlock: copy the read-only snapshot into the backup, then drop old local snapshots. */
  CopyResult afterUnlock(BackupContext context, CopyResult underLock) {
    Path snapshot = snapshotOf(context.tag());
    Map<String, String> details = new LinkedHashMap<>(underLock.details());
    Transfer how = transfer();
    details.put("transfer", how.name().toLowerCase());
    long transferred;
    if (how == Transfer.SEND) {
      transferred = send(context, snapshot, details);
    } else {
      transferred = rsync(context, snapshot, details);
    }
    long[] sizeAndCount = Trees.sizeAndCount(context.homeDir());
    if (how == Transfer.SEND) {
      // Received files share extents with the previous backup's, but each has one link: what this backup added
      // on disk is what the stream carried.
      details.put("bytes-written", Long.toString(transferred));
    }
    pruneSnapshots(context.tag());
    return new CopyResult(name(), sizeAndCount[0], sizeAndCount[1], transferred, List.of(), details);
  }

  private long send(BackupContext context, Path snapshot, Map<String, String> details) {
    createDirectories(context.modes(), context.backupDir());
    Optional<Path> parent = parentFor(context);
    Progress progress = context.progress();
    progress.report("home", 0, parent.isPresent() ? "btrfs send (incremental)" : "btrfs send (full)");
    try {
      long bytes = pipe(snapshot, parent, context.backupDir(), progress);
      parent.ifPresent(p -> details.put("parent", p.toString()));
      return bytes;
    } catch (SnapstashException e) {
      if (parent.isEmpty() || e.kind() == ErrorKind.INTERRUPTED) {
        throw Trees.explainStorage(e, context.backupDir().toString());
      }
      // The parent is gone on the receiving side (the previous backup was pruned or copied by rsync): a full
      // stream needs nothing but the snapshot itself.
      log.warn("incremental send against {} failed ({}); sending the whole snapshot", parent.get(), e.getMessage());
      Trees.deleteRecursively(context.homeDir());
      try {
        return pipe(snapshot, Optional.empty(), context.backupDir(), progress);
      } catch (SnapstashException full) {
        throw Trees.explainStorage(full, context.backupDir().toString());
      }
    }
  }

  private long pipe(Path snapshot, Optional<Path> parent, Path into, Progress progress) {
    long bytes =
        runner.pipe(
            BtrfsCommands.send(snapshot, parent),
            BtrfsCommands.receive(into),
            n -> progress.report("home", 0, Trees.humanBytes(n) + " sent"));
    progress.report("home", 1, Trees.humanBytes(bytes) + " sent");
    return bytes;
  }

  /**
   * The previous backup's snapshot, when it is still here and that backup holds its received copy: then only
   * the difference between the two snapshots is sent. Not when that copy has a damaged file: the receiving side
   * starts the new copy as a snapshot of it, so every file the stream does not carry would share the damage.
   */
  private Optional<Path> parentFor(BackupContext context) {
    Optional<Path> parent = context.previous()
        .filter(prev -> isSubvolume(prev.resolve("home")))
        .map(prev -> snapshotOf(prev.getFileName().toString()))
        .filter(Files::isDirectory);
    if (parent.isPresent()) {
      List<String> damaged = context.previousCheck().damaged();
      if (!damaged.isEmpty()) {
        log.warn(
            "the previous backup's received copy has {} damaged file(s); sending the whole snapshot, not the"
                + " difference from {}, so that the new copy shares nothing with it", damaged.size(), parent.get());
        return Optional.empty();
      }
    }
    return parent;
  }

  /**
   * rsync from the snapshot, hard-linking against the previous backup's copy; then the files whose previous copy is
   * damaged copied afresh from the snapshot (see {@link dev.snapstash.core.spi.PreviousHomeCheck}), as the rsync
   * strategy does from the home.
   */
  private long rsync(BackupContext context, Path snapshot, Map<String, String> details) {
    // The home directory itself gets the snapshot's mode and owner from rsync, not the backup's modes.
    createDirectories(context.modes(), context.backupDir());
    createDirectories(context.homeDir());
    Optional<Path> linkDest = context.previous().map(p -> p.resolve("home")).filter(Files::isDirectory);
    if (linkDest.isPresent()) {
      context.previousCheck().awaitStamps();
    }
    RsyncOutput out =
        HomeCopy.rsync(runner, RsyncCommands.copy(snapshot, context.homeDir(), linkDest, excludes), "home", context.progress());
    details.put("excludes", String.join(" ", excludes));
    List<String> damaged = linkDest.isPresent() ? context.previousCheck().damaged() : List.of();
    if (!damaged.isEmpty()) {
      Path list = context.backupDir().resolve(".damaged.list");
      try {
        Files.writeString(list, RsyncCommands.listFiles(damaged));
        out.addTransfer(
            HomeCopy.rsync(runner, RsyncCommands.copyAfresh(snapshot, context.homeDir(), list, excludes), "home", Progress.NONE));
        Files.deleteIfExists(list);
      } catch (IOException e) {
        throw SnapstashException.storage("cannot write " + list + ": " + e.getMessage(), e);
      }
      log.info("copied {} file(s) afresh from the snapshot rather than share the previous backup's damaged copies", damaged.size());
    }
    return out.transferredBytes;
  }

  /**
   * Keeps the newest {@code keep-snapshots} local snapshots of this instance's backups; deletes the rest. Only this
   * instance's: two homes side by side (Bitbucket and a Mesh node, say) share the default snapshot directory, and
   * the other's newest snapshot may be one its run took under its lock and has not sent yet.
   */
  void pruneSnapshots(String newestTag) {
    // A tag is <instance-name>-<yyyyMMdd-HHmmss>: the name is all but the last 16 characters.
    String instance = newestTag.length() > 16 ? newestTag.substring(0, newestTag.length() - 16) : newestTag;
    List<String> tags =
        localSnapshotTags().stream().filter(t -> Tags.belongsTo(t, instance)).toList();
    int kept = 0;
    for (String tag : tags) {
      if (tag.equals(newestTag) || kept < keepSnapshots - 1) {
        if (!tag.equals(newestTag)) {
          kept++;
        }
        continue;
      }
      try {
        deleteSnapshot(tag);
      } catch (SnapstashException e) {
        log.warn("could not delete the old snapshot {}: {}", snapshotOf(tag), e.getMessage());
      }
    }
  }

  /** Tags that have a local snapshot, newest first (tags sort by time). */
  List<String> localSnapshotTags() {
    if (!Files.isDirectory(snapshots)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(snapshots)) {
      return s.filter(p -> Files.isDirectory(p.resolve("home")))
          .map(p -> p.getFileName().toString())
          .sorted(Comparator.reverseOrder())
          .toList();
    } catch (IOException e) {
      throw SnapstashException.storage("cannot list " + snapshots + ": " + e.getMessage(), e);
    }
  }

  void deleteSnapshot(String tag) {
    deleteSnapshot(snapshotOf(tag), runner);
  }

  /**
   * Deletes a snapshot this strategy made ({@code <snapshot-directory>/<tag>/home}) and the directory that holds
   * it; nothing to do when it is gone. Also how {@code recover} undoes a snapshot a dead run left.
   */
  public static void deleteSnapshot(Path snapshot, ProcessRunner runner) {
    if (Files.exists(snapshot, LinkOption.NOFOLLOW_LINKS)) {
      runner.run(BtrfsCommands.delete(snapshot));
      log.info("deleted the snapshot {}", snapshot);
    }
    try {
      Files.deleteIfExists(snapshot.getParent());
    } catch (IOException e) {
      log.warn("could not remove {}: {}", snapshot.getParent(), e.getMessage());
    }
  }

  void cleanupIncomplete(BackupContext context) {
    deleteSnapshot(context.tag());
    context.undo().done(new DeleteSnapshot(snapshotOf(context.tag())));
    Trees.deleteRecursively(context.homeDir());
  }

  @Override
  public void prepareRestore(RestoreContext context) {
    HomeCopy.refuseUnsafeTarget(context);
  }

  /**
   * On the backup's own btrfs filesystem a writable snapshot of the received copy restores any size in constant
   * time. Elsewhere the home is copied with rsync, into a new subvolume when the target is on btrfs, so that the
   * restored instance can be backed up with this strategy again.
   */
  @Override
  public void restore(RestoreContext context) {
    Path source = context.homeDir();
    Path target = context.homeTarget().toAbsolutePath().normalize();
    Path parent = target.getParent();
    createDirectories(parent);
    boolean emptyOrMissing = Trees.isEmptyOrMissing(target);
    Optional<Mount> targetFs = mount(parent);
    boolean targetOnBtrfs = targetFs.map(m -> m.type().equals("btrfs")).orElse(false);
    if (emptyOrMissing && targetOnBtrfs && isSubvolume(source) && targetFs.equals(mount(source))) {
      removeEmpty(target);
      context.progress().report("home", 0, "writable snapshot of the backup");
      runner.run(BtrfsCommands.snapshotWritable(source, target));
      context.progress().report("home", 1, "restored by snapshot");
      return;
    }
    if (emptyOrMissing && targetOnBtrfs && !isSubvolume(target)) {
      removeEmpty(target);
      runner.run(BtrfsCommands.create(target));
    }
    HomeCopy.restore(runner, source, target, context.force(), context.progress());
  }

  private static void removeEmpty(Path dir) {
    try {
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot replace the empty directory " + dir + ": " + e.getMessage(), e);
    }
  }

  private boolean isSubvolume(Path dir) {
    return Trees.mayBeSubvolume(dir) && runner.runAllowingFailure(BtrfsCommands.show(dir), l -> {}).exitCode() == 0;
  }

  record Mount(String device, String type) {}

  private Optional<Mount> mount(Path path) {
    ProcessResult r = runner.runAllowingFailure(BtrfsCommands.mountOf(path), l -> {});
    if (r.exitCode() != 0) {
      return Optional.empty();
    }
    String[] f = r.stdout().strip().split("\\s+");
    if (f.length < 2) {
      return Optional.empty();
    }
    // A subvolume mount shows as "/dev/sdb[/home]": the device is what makes two paths one filesystem.
    String device = f[0].contains("[") ? f[0].substring(0, f[0].indexOf('[')) : f[0];
    return Optional.of(new Mount(device, f[1]));
  }

  private static Path nearestExisting(Path p) {
    Path existing = p;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    return existing == null ? Path.of("/") : existing;
  }

  private static void createDirectories(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * A directory of the backup, or one that holds a snapshot ({@code <snapshot-directory>/<tag>}): with the
   * backup's modes, since a snapshot of the home is as good as a backup. The snapshot itself keeps the home's.
   */
  private static void createDirectories(dev.snapstash.core.util.FileModes modes, Path dir) {
    try {
      modes.createDirectories(dir);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }
}
