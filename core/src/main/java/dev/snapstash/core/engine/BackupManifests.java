package dev.snapstash.core.engine;

import dev.snapstash.core.spi.ApplicationNode;
import dev.snapstash.core.spi.CopyResult;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The manifest of one backup, assembled: the one written as the run starts (in progress, so that {@code list} and
 * {@code recover} know of it) and the complete one it ends with. Pure: writing them is the run's business.
 */
final class BackupManifests {
  private BackupManifests() {}

  /**
   * What the run measured, for the complete manifest.
   *
   * @param lockWindow how long the instance was locked, or null when it was not
   * @param unlockedAt when the unlock was answered; null when not locked
   * @param repaired the damaged files of the previous backup's copy, or null when it had none
   */
  record Outcome(
      CopyResult home,
      CopyResult database,
      Map<String, Long> phases,
      Duration lockWindow,
      Instant unlockedAt,
      long bytesUnderLock,
      Manifest.Repaired repaired) {}

  static Manifest started(
      String tag,
      Instant startedAt,
      BackupEngine.Settings settings,
      String quiesce,
      String disk,
      String database,
      String applicationVersion,
      List<ApplicationNode> nodes) {
    Map<String, String> strategies = new LinkedHashMap<>();
    strategies.put("quiesce", quiesce);
    strategies.put("disk", disk);
    strategies.put("database", database);
    return new Manifest(
        Manifest.FORMAT, tag, Manifest.State.IN_PROGRESS, settings.instanceName(), applicationVersion,
        settings.version(), strategies, Map.of(), startedAt, null, Map.of(), null, null, null, null, null, null, null, null,
        null, nodes == null || nodes.isEmpty() ? null : List.copyOf(nodes));
  }

  static Manifest complete(Manifest started, Outcome o, Instant finishedAt) {
    CopyResult home = o.home();
    CopyResult db = o.database();
    Map<String, String> tools = new LinkedHashMap<>();
    for (CopyResult c : List.of(home, db)) {
      c.details().forEach((k, v) -> {
        if (k.endsWith("version")) {
          tools.put(c.strategy(), v);
        }
      });
    }
    Manifest.Part homePart =
        new Manifest.Part(home.strategy(), home.bytes(), home.files(), homeWritten(home), home.artifacts(), home.details());
    Manifest.Part dbPart =
        new Manifest.Part(db.strategy(), db.bytes(), db.files(), db.bytes(), db.artifacts(), db.details());
    Duration lockWindow = o.lockWindow();
    return new Manifest(
        Manifest.FORMAT, started.tag(), Manifest.State.COMPLETE, started.instance(), started.bitbucketVersion(),
        started.snapstashVersion(), started.strategies(), tools, started.startedAt(), finishedAt,
        Map.copyOf(o.phases()),
        lockWindow == null ? null : o.unlockedAt().minus(lockWindow),
        lockWindow == null ? null : o.unlockedAt(),
        lockWindow == null ? null : lockWindow.toMillis(),
        o.bytesUnderLock(),
        homePart,
        dbPart,
        null,
        null,
        o.repaired(),
        started.nodes());
  }

  /**
   * What this backup added on disk for the home: files hard-linked against the previous backup cost nothing,
   * so only files with a single link count. This is also what pruning this backup would free. Every copied
   * home has the figure from the checksums after the unlock (or from its strategy); without a home copy it is the
   * strategy's own size.
   */
  private static long homeWritten(CopyResult home) {
    String reported = home.details().get("bytes-written");
    return reported != null ? Long.parseLong(reported) : home.bytes();
  }
}
