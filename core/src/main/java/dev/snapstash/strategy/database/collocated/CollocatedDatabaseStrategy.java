package dev.snapstash.strategy.database.collocated;

import dev.snapstash.strategy.database.collocated.CollocatedSettings;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.RestoreContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The database's data directory lives inside the home (or the volume) that the disk strategy copies, so the disk
 * copy carries the database: backup only records that fact, restore has nothing to do of its own.
 *
 * <p>Consistency then rests on the disk strategy: it must take an atomic snapshot (btrfs, ZFS, EBS) or copy
 * while the database is stopped. A file-by-file copy of a running database is not a backup.
 */
public final class CollocatedDatabaseStrategy implements DatabaseStrategy {
  public static final String NAME = "collocated";
  static final String KEY = "database.collocated.data-directory";

  private final Path dataDirectory;
  private final Path instanceHome;

  /**
   * @param instanceHome the configured {@code instance.home}
   * @throws SnapstashException (CONFIG) when {@code database.collocated.data-directory} is missing
   */
  public CollocatedDatabaseStrategy(CollocatedSettings config, Path instanceHome) {
    if (config == null || config.dataDirectory() == null) {
      throw SnapstashException.config(KEY + " is required when database.type is collocated");
    }
    this.dataDirectory = config.dataDirectory().toAbsolutePath().normalize();
    this.instanceHome = instanceHome.toAbsolutePath().normalize();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public void check(Findings findings) {
    Path data = real(dataDirectory);
    Path home = real(instanceHome);
    if (!data.startsWith(home)) {
      findings.problem(KEY, KEY + " " + dataDirectory + " is not inside the instance home " + instanceHome
          + ", so the disk copy would not carry the database; move it there or choose another database.type");
    } else if (!Files.isDirectory(dataDirectory)) {
      findings.problem(KEY, KEY + " " + dataDirectory + " does not exist");
    } else {
      findings.ok(NAME, "database data directory " + dataDirectory + " is inside the home and is copied with it");
    }
  }

  @Override
  public CopyResult backup(BackupContext context) {
    context.progress().report("database", 1.0, "copied with the home (" + instanceHome.relativize(dataDirectory) + ")");
    return new CopyResult(NAME, 0, 0, 0, List.of(),
        Map.of("data-directory", instanceHome.relativize(dataDirectory).toString(), "copied-by", "disk strategy"));
  }

  @Override
  public void prepareRestore(RestoreContext context) {
    // The disk strategy refuses an unsafe home target; the database comes with it.
  }

  @Override
  public void restore(RestoreContext context) {
    context.progress().report("database", 1.0, "restored with the home");
  }

  @Override
  public void verify(RestoreContext context, Findings findings) {
    Path inBackup = context.homeDir().resolve(instanceHome.relativize(dataDirectory));
    if (Files.isDirectory(context.homeDir()) && !Files.isDirectory(inBackup)) {
      findings.problem(NAME, "the backup's home has no database data directory " + inBackup);
    }
  }

  /** The path with symbolic links resolved as far as it exists, so a link cannot fake containment. */
  private static Path real(Path p) {
    Path existing = p;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return p;
    }
    try {
      return existing.toRealPath().resolve(existing.relativize(p)).normalize();
    } catch (IOException e) {
      return p;
    }
  }
}
