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
      s.run(ResticCommands.prune(restic.target, s.passwordFile));
      return null;
    });
  }
}
