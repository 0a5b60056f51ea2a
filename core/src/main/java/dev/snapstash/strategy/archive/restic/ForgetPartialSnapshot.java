package dev.snapstash.strategy.archive.restic;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.nio.file.Path;
import java.util.List;

/**
 * A {@code restic backup} of {@code tag} under way. A killed restic leaves no snapshot (it writes the snapshot last)
 * but may leave its lock and the packs it had uploaded; a restic that finished while snapstash was killed leaves a
 * snapshot no journal marked done. Undoing removes the dead process's lock ({@code restic unlock} only removes
 * locks whose process is gone), forgets every snapstash snapshot of {@code tag} on this host, and prunes, which
 * deletes the packs no snapshot references. The step is journaled only after the store checked that no snapshot
 * of {@code tag} existed, so it never forgets an earlier run's copy.
 *
 * @param password the secret reference ({@code ${file:…}}), never the password
 */
public record ForgetPartialSnapshot(String binary, String repository, String password, Path cacheDir, String tag, String host)
    implements Undo {
  public static final String NAME = "forget-partial-restic-snapshot";

  @Override
  public int order() {
    return DELETE;
  }

  @Override
  public String describe() {
    return "forget the partial restic snapshot of " + tag + " in " + repository + " and prune";
  }

  @Override
  public void undo(Services services) {
    ProcessRunner runner = services != null && services.runner() != null ? services.runner() : new ProcessRunner();
    Path root = services != null && services.backup() != null ? services.backup().root() : null;
    Restic restic = new Restic(
        new ResticCommands.Target(binary, repository, cacheDir), Secret.parse(Restic.PASSWORD_KEY, password), runner, root);
    restic.withPassword(s -> {
      if (!s.exists()) {
        return null; // the repository is gone: nothing of this run is left in it
      }
      s.run(ResticCommands.unlock(restic.target, s.passwordFile));
      List<String> ids = s.snapshots(host, tag).stream().map(Restic.Snapshot::id).toList();
      if (!ids.isEmpty()) {
        s.run(ResticCommands.forget(restic.target, s.passwordFile, ids, false));
      }
      java.time.Instant pruneStarted = java.time.Instant.now();
      s.run(ResticCommands.prune(restic.target, s.passwordFile));
      Path local = localPath(repository);
      if (local != null) {
        removeTemporaryPacks(local, pruneStarted);
      }
      return null;
    });
  }

  /** The directory of a local repository ({@code /path} or {@code local:/path}); null for any other backend. */
  static Path localPath(String repository) {
    if (repository.startsWith("local:")) {
      return Path.of(repository.substring("local:".length()));
    }
    return repository.matches("^[a-z0-9]+:.*") ? null : Path.of(repository);
  }

  /**
   * A restic killed while it wrote a pack to a local repository leaves {@code data/xx/<id>-tmp-<n>}, which no restic
   * command removes. Only those last written before the prune started are removed: prune holds the exclusive lock,
   * so it succeeds only when no live restic is writing; a writer that started after it has touched its temporary
   * file since.
   */
  private static void removeTemporaryPacks(Path repository, java.time.Instant before) {
    Path data = repository.resolve("data");
    if (!java.nio.file.Files.isDirectory(data)) {
      return;
    }
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(data, 2)) {
      for (Path f : files.filter(p -> p.getFileName().toString().contains("-tmp-")).toList()) {
        if (java.nio.file.Files.getLastModifiedTime(f).toInstant().isBefore(before)) {
          java.nio.file.Files.deleteIfExists(f);
        }
      }
    } catch (java.io.IOException e) {
      throw dev.snapstash.core.error.SnapstashException.storage(
          "cannot remove the partial packs a killed restic left in " + data + ": " + e.getMessage(), e);
    }
  }
}
