package dev.snapstash.strategy.archive.restic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.core.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code archive[].type: restic}: each backup as one restic snapshot tagged {@code snapstash} and the backup's tag,
 * made by {@code restic backup} of the backup directory together with a {@link SnapshotIndex}. restic writes the
 * snapshot file last, so a snapshot exists whole or not at all; the repository is the catalogue ({@code restic
 * snapshots}). Restoring streams {@code restic dump} through {@link ResticReader}: no scratch copy.
 */
final class ResticArchiveStrategy implements ArchiveStrategy {
  private static final Logger log = LoggerFactory.getLogger(ResticArchiveStrategy.class);
  /** The tag that carries the backup's size, so that listing needs no more than {@code restic snapshots}. */
  static final String BYTES_TAG = "snapstash-bytes=";
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private final Restic restic;
  private final Secret password;
  private final String host;
  private final List<String> extraTags;
  private final boolean init;

  ResticArchiveStrategy(Restic restic, Secret password, String host, List<String> extraTags, boolean init) {
    this.restic = restic;
    this.password = password;
    this.host = host;
    this.extraTags = List.copyOf(extraTags);
    this.init = init;
  }

  @Override
  public String name() {
    return "restic";
  }

  @Override
  public void check(Findings findings) {
    try {
      boolean exists = restic.withPassword(Restic.Session::exists);
      if (exists) {
        findings.ok("repository", restic.target.repository() + " opens with " + Restic.PASSWORD_KEY);
      } else if (init) {
        findings.ok("repository", restic.target.repository() + " does not exist yet; the first copy creates it (archive[].init)");
      } else {
        findings.problem("repository", restic.missing().getMessage(), ErrorKind.PRECONDITION);
      }
    } catch (SnapstashException e) {
      findings.problem("repository", e.getMessage(), e.kind());
    }
  }

  @Override
  public Stored store(Source source, UndoLog undo) {
    if (!Files.isDirectory(source.dir())) {
      throw SnapstashException.precondition("the backup directory " + source.dir() + " does not exist");
    }
    return restic.withPassword(s -> {
      s.ensureRepository(init);
      if (!s.snapshots(host, source.tag()).isEmpty()) {
        throw SnapstashException.precondition(
            "the restic repository " + restic.target.repository() + " holds a snapshot of " + source.tag() + " already; a tag is archived once");
      }
      ForgetPartialSnapshot step = new ForgetPartialSnapshot(
          restic.target.binary(), restic.target.repository(), password.reference(), restic.target.cacheDir(), source.tag(), host);
      undo.add(step);
      boolean started = false;
      try {
        SnapshotIndex index = SnapshotIndex.of(source.dir());
        Path indexDir = Files.createDirectory(s.dir.resolve(SnapshotIndex.DIR),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(indexDir.resolve(SnapshotIndex.FILE), index.text(), StandardCharsets.UTF_8);
        List<String> tags = new ArrayList<>(extraTags);
        tags.add(BYTES_TAG + index.bytes());
        Command backup = ResticCommands.backup(
            restic.target, s.passwordFile, s.dir, SnapshotIndex.DIR, source.dir(), source.tag(), host, tags);
        AtomicReference<JsonNode> summary = new AtomicReference<>();
        started = true;
        try {
          restic.runner.run(s.secured(backup), line -> {
            if (line.contains("\"summary\"")) {
              try {
                summary.set(Json.MAPPER.readTree(line));
              } catch (IOException e) {
                // not the summary after all
              }
            }
          });
        } catch (SnapstashException e) {
          throw restic.explain(e);
        }
        JsonNode sum = summary.get();
        if (sum == null || !sum.path("snapshot_id").isTextual()) {
          throw new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "restic backup ended without naming the snapshot it made");
        }
        String id = sum.get("snapshot_id").asText();
        log.info("restic snapshot {} of {}: {} bytes read, {} bytes added to {}", id, source.tag(),
            sum.path("total_bytes_processed").asLong(), sum.path("data_added").asLong(), restic.target.repository());
        undo.done(step);
        return new Stored(source.tag(), restic.target.repository() + " snapshot " + id, index.bytes(), null, index.members());
      } catch (IOException | RuntimeException e) {
        cleanUp(step, undo, started, e);
        if (e instanceof SnapstashException x) {
          throw x;
        }
        throw SnapstashException.storage("cannot copy " + source.dir() + " to restic: " + e.getMessage(), e);
      }
    });
  }

  /**
   * Replays the step now, with the interrupt flag cleared (restic's clean-up must run to its end) and set again
   * after. Before restic started nothing was written, so there is nothing to forget or prune.
   */
  private void cleanUp(ForgetPartialSnapshot step, UndoLog undo, boolean started, Exception failure) {
    boolean interrupted = Thread.interrupted();
    try {
      if (started) {
        step.undo(null);
      }
      undo.done(step);
    } catch (RuntimeException cleanup) {
      failure.addSuppressed(cleanup);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public List<Archived> list() {
    List<Restic.Snapshot> snapshots = restic.withPassword(s -> {
      if (!s.exists()) {
        throw restic.missing();
      }
      return s.snapshots(host, null);
    });
    List<Archived> out = new ArrayList<>();
    for (Restic.Snapshot s : snapshots) {
      String tag = backupTag(s.tags());
      if (tag != null) {
        out.add(new Archived(tag, startedAt(tag, s.time()), bytes(s.tags()), s.time()));
      }
    }
    out.sort(Comparator.comparing(Archived::startedAt).thenComparing(Archived::tag).reversed());
    return out;
  }

  /** The backup's tag among a snapshot's tags: the one that is neither snapstash's own nor a configured extra. */
  private String backupTag(List<String> tags) {
    for (String t : tags) {
      if (!t.equals(ResticCommands.TAG) && !t.startsWith(BYTES_TAG) && !extraTags.contains(t)) {
        return t;
      }
    }
    return null;
  }

  private static long bytes(List<String> tags) {
    for (String t : tags) {
      if (t.startsWith(BYTES_TAG)) {
        try {
          return Long.parseLong(t.substring(BYTES_TAG.length()));
        } catch (NumberFormatException e) {
          return 0;
        }
      }
    }
    return 0;
  }

  /** From the tag's UTC stamp, as the local store's retention orders; the snapshot's time for a tag without one. */
  private static Instant startedAt(String tag, Instant fallback) {
    if (tag.length() > 16 && tag.charAt(tag.length() - 16) == '-') {
      try {
        return Instant.from(STAMP.parse(tag.substring(tag.length() - 15)));
      } catch (DateTimeParseException e) {
        // not a tag snapstash made
      }
    }
    return fallback;
  }

  @Override
  public Reader open(String tag) {
    Restic.Session s = restic.session();
    try {
      if (!s.exists()) {
        throw restic.missing();
      }
      List<Restic.Snapshot> found = s.snapshots(host, tag);
      if (found.isEmpty()) {
        throw SnapstashException.precondition(
            "there is no restic snapshot of " + tag + " in " + restic.target.repository() + "; `snapstash list --from` shows what there is");
      }
      Restic.Snapshot snapshot = found.stream().max(Comparator.comparing(Restic.Snapshot::time)).orElseThrow();
      // The reader owns the session: restic reads the password file at its start, after this call returned.
      return new ResticReader(tag, restic.runner.stream(s.secured(ResticCommands.dump(restic.target, s.passwordFile, snapshot.id()))), s);
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
  }

  @Override
  public void delete(String tag) {
    restic.withPassword(s -> {
      if (!s.exists()) {
        throw restic.missing();
      }
      List<String> ids = s.snapshots(host, tag).stream().map(Restic.Snapshot::id).toList();
      if (!ids.isEmpty()) {
        // forget --prune: the space comes back with the copy; retention removes about one copy a day, so one prune
        s.run(ResticCommands.forget(restic.target, s.passwordFile, ids, true));
      }
      return null;
    });
  }
}
