package dev.snapstash.strategy.archive.restic;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.ArchiveProvider;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.nio.file.Path;
import java.util.Map;

/** {@code archive[].type: restic}. */
public final class ResticProvider implements ArchiveProvider<ResticSettings> {
  @Override
  public String name() {
    return "restic";
  }

  @Override
  public String summary() {
    return "one restic snapshot per backup in a restic repository (a local path, or S3, SFTP, REST as restic reaches"
        + " them): encrypted and deduplicated by restic, restorable with `restic restore` too";
  }

  @Override
  public Class<ResticSettings> settingsType() {
    return ResticSettings.class;
  }

  @Override
  public ArchiveStrategy create(ResticSettings s, Services services) {
    if (s.repository() == null || s.repository().isBlank()) {
      throw SnapstashException.config("archive[].repository is empty; name the restic repository (a path, or s3:…)");
    }
    if (s.password() == null) {
      throw SnapstashException.config("set " + Restic.PASSWORD_KEY + " to the repository's password, as ${file:…} or ${env:…}");
    }
    for (String t : s.tags()) {
      if (t.isBlank() || t.contains(",") || t.equals(ResticCommands.TAG) || t.startsWith(ResticArchiveStrategy.BYTES_TAG)) {
        throw SnapstashException.config(
            "archive[].tags: '" + t + "' cannot be a tag (empty, a comma, or one snapstash sets itself)");
      }
    }
    ProcessRunner runner = services != null && services.runner() != null ? services.runner() : new ProcessRunner();
    Path root = services != null && services.backup() != null ? services.backup().root() : null;
    String host = services != null && services.instance() != null ? services.instance().name() : null;
    if (host == null) {
      throw SnapstashException.config("instance.name is needed by the restic archive (it is the snapshots' --host)");
    }
    Restic restic = new Restic(new ResticCommands.Target(s.binary(), s.repository(), s.cacheDir()), s.password(), runner, root);
    return new ResticArchiveStrategy(restic, s.password(), host, s.tags(), s.init());
  }

  @Override
  public Map<String, Class<? extends Undo>> undoTypes() {
    return Map.of(ForgetPartialSnapshot.NAME, ForgetPartialSnapshot.class);
  }
}
