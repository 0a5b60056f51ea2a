package dev.snapstash.core.metrics;

import dev.snapstash.core.engine.Manifest;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.metrics.Textfile.Family;
import dev.snapstash.core.metrics.Textfile.Sample;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the metrics textfile says after a run, per instance: how each operation's last run went, and what the backup
 * root holds.
 *
 * <p>The facts about the backups (how many, the newest, its lock window and bytes, the newest verified one) are
 * derived afresh from the manifests on every write, so they stay true after a backup was removed by hand or verified
 * by another run, and a verify cannot erase a backup's figures. The facts about runs (status, exit code, duration,
 * last success) exist nowhere else: a failed backup removes its directory, and verify and prune leave no run record;
 * so those of the other operations, and every series of other instances that share the file, are carried over from
 * the previous file.
 */
public final class RunMetrics {
  public static final String LAST_RUN_TIMESTAMP = "snapstash_last_run_timestamp_seconds";
  public static final String LAST_RUN_SUCCESS = "snapstash_last_run_success";
  public static final String LAST_RUN_EXIT_CODE = "snapstash_last_run_exit_code";
  public static final String LAST_RUN_DURATION = "snapstash_last_run_duration_seconds";
  public static final String LAST_SUCCESS_TIMESTAMP = "snapstash_last_success_timestamp_seconds";
  public static final String BACKUPS = "snapstash_backups";
  public static final String NEWEST_BACKUP_TIMESTAMP = "snapstash_backup_newest_timestamp_seconds";
  public static final String LOCK_WINDOW = "snapstash_backup_lock_window_seconds";
  public static final String BACKUP_DURATION = "snapstash_backup_duration_seconds";
  public static final String BACKUP_SIZE = "snapstash_backup_size_bytes";
  public static final String BYTES_WRITTEN = "snapstash_backup_written_bytes";
  public static final String STRATEGY_INFO = "snapstash_backup_strategy_info";
  public static final String VERIFY_SUCCESS = "snapstash_verify_success";
  public static final String VERIFY_TIMESTAMP = "snapstash_verify_timestamp_seconds";
  public static final String NEWEST_VERIFIED_TIMESTAMP = "snapstash_verified_backup_newest_timestamp_seconds";
  public static final String ARCHIVE_SUCCESS = "snapstash_archive_copy_success";

  /**
   * The label that names the instance (instance.name). Not {@code instance}: Prometheus gives every scraped series
   * that label itself (node_exporter's address), and would rename ours to {@code exported_instance}.
   */
  public static final String INSTANCE = "instance_name";

  /** Every family this class writes, with its help, in the order written. */
  public static final Map<String, String> HELP = new LinkedHashMap<>();

  static {
    HELP.put(LAST_RUN_TIMESTAMP, "When the last run of the operation ended (Unix time).");
    HELP.put(LAST_RUN_SUCCESS, "Whether the last run of the operation succeeded (1) or failed (0).");
    HELP.put(LAST_RUN_EXIT_CODE, "The exit code of the last run of the operation (0 on success; see the README).");
    HELP.put(LAST_RUN_DURATION, "How long the last run of the operation took.");
    HELP.put(LAST_SUCCESS_TIMESTAMP, "When the last successful run of the operation ended (Unix time).");
    HELP.put(BACKUPS, "Complete backups under the backup root.");
    HELP.put(NEWEST_BACKUP_TIMESTAMP, "When the newest complete backup started (Unix time): it holds nothing newer.");
    HELP.put(LOCK_WINDOW, "How long the newest complete backup held the instance locked.");
    HELP.put(BACKUP_DURATION, "How long the newest complete backup took, from preflight to manifest.");
    HELP.put(BACKUP_SIZE, "The size of the newest complete backup.");
    HELP.put(BYTES_WRITTEN, "Bytes the newest complete backup wrote, per part and strategy (less than its size when incremental).");
    HELP.put(STRATEGY_INFO, "The strategies of the newest complete backup, as labels; always 1.");
    HELP.put(VERIFY_SUCCESS, "Whether the most recent verification of any backup passed (1) or failed (0).");
    HELP.put(VERIFY_TIMESTAMP, "When the most recent verification of any backup ran (Unix time).");
    HELP.put(NEWEST_VERIFIED_TIMESTAMP,
        "When the newest backup whose last verification passed started (Unix time); time() minus this is the age of"
            + " the newest known-good backup.");
    HELP.put(ARCHIVE_SUCCESS, "Whether the newest complete backup's copy to the archive destination was made (1) or not (0).");
  }

  /** The families whose series are about a run of one operation (labels instance_name and operation). */
  private static final List<String> RUN_FAMILIES =
      List.of(LAST_RUN_TIMESTAMP, LAST_RUN_SUCCESS, LAST_RUN_EXIT_CODE, LAST_RUN_DURATION, LAST_SUCCESS_TIMESTAMP);

  /**
   * One run as the facade saw it.
   *
   * @param operation {@code backup}, {@code verify} or {@code prune}
   * @param endedAt when it ended
   * @param duration how long it took
   * @param failure what went wrong, or null when it succeeded
   * @param exitCode the exit code the caller ends with, or null when the caller maps no exit codes
   */
  public record Run(String operation, Instant endedAt, Duration duration, ErrorKind failure, Integer exitCode) {
    public boolean ok() {
      return failure == null;
    }
  }

  private RunMetrics() {}

  /**
   * The families after {@code run} of {@code instance}: its run series and its backups' series replaced, every
   * other series of {@code previous} kept (families this version does not write are dropped).
   *
   * @param manifests every backup under the backup root, in any order
   */
  public static List<Family> after(String instance, Run run, List<Manifest> manifests, List<Family> previous) {
    Map<String, List<Sample>> out = new LinkedHashMap<>();
    HELP.keySet().forEach(name -> out.put(name, new ArrayList<>()));
    Optional<Sample> lastSuccess = Optional.empty();
    for (Family f : previous) {
      if (!out.containsKey(f.name())) {
        continue;
      }
      boolean runFamily = RUN_FAMILIES.contains(f.name());
      for (Sample s : f.samples()) {
        boolean ours = instance.equals(s.labels().get(INSTANCE));
        if (runFamily && ours && run.operation().equals(s.labels().get("operation"))) {
          if (f.name().equals(LAST_SUCCESS_TIMESTAMP)) {
            lastSuccess = Optional.of(s);
          }
          continue;
        }
        if (!runFamily && ours) {
          continue;
        }
        out.get(f.name()).add(s);
      }
    }

    String[] op = {INSTANCE, instance, "operation", run.operation()};
    out.get(LAST_RUN_TIMESTAMP).add(Sample.of(seconds(run.endedAt()), op));
    out.get(LAST_RUN_SUCCESS).add(Sample.of(run.ok() ? 1 : 0, op));
    if (run.exitCode() != null) {
      out.get(LAST_RUN_EXIT_CODE).add(Sample.of(run.exitCode(), op));
    }
    out.get(LAST_RUN_DURATION).add(Sample.of(run.duration().toMillis() / 1000.0, op));
    if (run.ok()) {
      out.get(LAST_SUCCESS_TIMESTAMP).add(Sample.of(seconds(run.endedAt()), op));
    } else {
      lastSuccess.ifPresent(out.get(LAST_SUCCESS_TIMESTAMP)::add);
    }

    backups(instance, manifests, out);

    List<Family> families = new ArrayList<>();
    out.forEach((name, samples) -> {
      if (!samples.isEmpty()) {
        families.add(new Family(name, HELP.get(name), "gauge", samples));
      }
    });
    return families;
  }

  private static void backups(String instance, List<Manifest> manifests, Map<String, List<Sample>> out) {
    String[] inst = {INSTANCE, instance};
    List<Manifest> complete = manifests.stream()
        .filter(m -> m.state() == Manifest.State.COMPLETE && m.startedAt() != null)
        .sorted(Comparator.comparing(Manifest::startedAt).reversed())
        .toList();
    out.get(BACKUPS).add(Sample.of(complete.size(), inst));
    if (!complete.isEmpty()) {
      Manifest newest = complete.get(0);
      out.get(NEWEST_BACKUP_TIMESTAMP).add(Sample.of(seconds(newest.startedAt()), inst));
      if (newest.lockWindowMillis() != null) {
        out.get(LOCK_WINDOW).add(Sample.of(newest.lockWindowMillis() / 1000.0, inst));
      }
      out.get(BACKUP_DURATION).add(Sample.of(newest.totalMillis() / 1000.0, inst));
      out.get(BACKUP_SIZE).add(Sample.of(newest.bytes(), inst));
      if (newest.home() != null) {
        out.get(BYTES_WRITTEN).add(Sample.of(newest.home().bytesWritten(),
            INSTANCE, instance, "part", "home", "strategy", String.valueOf(newest.home().strategy())));
      }
      if (newest.database() != null) {
        // A dump is written whole every time: what it holds is what it wrote.
        out.get(BYTES_WRITTEN).add(Sample.of(newest.database().bytes(),
            INSTANCE, instance, "part", "database", "strategy", String.valueOf(newest.database().strategy())));
      }
      Map<String, String> strategies = newest.strategies() == null ? Map.of() : newest.strategies();
      out.get(STRATEGY_INFO).add(Sample.of(1, INSTANCE, instance,
          "quiesce", strategies.getOrDefault("quiesce", ""), "disk", strategies.getOrDefault("disk", ""),
          "database", strategies.getOrDefault("database", "")));
      for (Manifest.Archive a : newest.archives() == null ? List.<Manifest.Archive>of() : newest.archives()) {
        out.get(ARCHIVE_SUCCESS).add(Sample.of(a.ok() ? 1 : 0,
            INSTANCE, instance, "destination", a.destination(), "type", String.valueOf(a.type())));
      }
    }
    manifests.stream()
        .filter(m -> m.verification() != null && m.verification().at() != null)
        .max(Comparator.comparing(m -> m.verification().at()))
        .ifPresent(m -> {
          out.get(VERIFY_SUCCESS).add(Sample.of(m.verification().ok() ? 1 : 0, inst));
          out.get(VERIFY_TIMESTAMP).add(Sample.of(seconds(m.verification().at()), inst));
        });
    complete.stream()
        .filter(m -> m.verification() != null && m.verification().ok())
        .findFirst()
        .ifPresent(m -> out.get(NEWEST_VERIFIED_TIMESTAMP).add(Sample.of(seconds(m.startedAt()), inst)));
  }

  private static double seconds(Instant t) {
    return t.toEpochMilli() / 1000.0;
  }
}
