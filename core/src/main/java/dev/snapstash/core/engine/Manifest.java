package dev.snapstash.core.engine;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.snapstash.core.spi.Artifact;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json}: everything known about one backup. Written when the backup starts (state {@code
 * IN_PROGRESS}), rewritten atomically when it ends. Holds no secret.
 *
 * @param formatVersion the manifest format, for readers of old backups
 * @param tag {@code <instance-name>-<yyyyMMdd-HHmmss>} (UTC)
 * @param state where the backup is in its life
 * @param instance the configured instance name
 * @param bitbucketVersion the instance's version, or null when it was not asked
 * @param snapstashVersion the tool's version
 * @param strategies quiesce, disk and database strategy names
 * @param tools versions of the external tools used
 * @param startedAt when the run started
 * @param finishedAt when it ended, or null while in progress
 * @param phases milliseconds per phase, in order ("preflight", "pre-copy", "lock", "copy", "unlock", …)
 * @param lockedAt when the lock was accepted; null when the instance was not locked
 * @param unlockedAt when the unlock was answered; null when the instance was not locked
 * @param lockWindowMillis from lock accepted to unlock answered; null when the instance was not locked
 * @param bytesUnderLock bytes copied while the instance was locked
 * @param home what the disk strategy copied
 * @param database what the database strategy copied
 * @param error the error's one-sentence message, for failed backups
 * @param verification the last {@code snapstash verify} of this backup, or null
 * @param repaired files found damaged in the previous backup, which this one copied afresh instead of sharing;
 *     null when there were none (and in manifests written before this was checked)
 * @param nodes the application's nodes when the backup started (a Data Center cluster's), or null when unknown
 * @param archives the copies of this backup made to the configured archive destinations after it completed, one per
 *     destination; null when none is configured (and in manifests written before there were archives)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(
    int formatVersion,
    String tag,
    State state,
    String instance,
    String bitbucketVersion,
    String snapstashVersion,
    Map<String, String> strategies,
    Map<String, String> tools,
    Instant startedAt,
    Instant finishedAt,
    Map<String, Long> phases,
    Instant lockedAt,
    Instant unlockedAt,
    Long lockWindowMillis,
    Long bytesUnderLock,
    Part home,
    Part database,
    String error,
    Verification verification,
    Repaired repaired,
    List<dev.snapstash.core.spi.ApplicationNode> nodes,
    List<Archive> archives) {

  public static final int FORMAT = 1;

  /** A manifest from before archive destinations (and of a backup none is configured for). */
  public Manifest(
      int formatVersion, String tag, State state, String instance, String bitbucketVersion, String snapstashVersion,
      Map<String, String> strategies, Map<String, String> tools, Instant startedAt, Instant finishedAt,
      Map<String, Long> phases, Instant lockedAt, Instant unlockedAt, Long lockWindowMillis, Long bytesUnderLock,
      Part home, Part database, String error, Verification verification, Repaired repaired,
      List<dev.snapstash.core.spi.ApplicationNode> nodes) {
    this(
        formatVersion, tag, state, instance, bitbucketVersion, snapstashVersion, strategies, tools, startedAt,
        finishedAt, phases, lockedAt, unlockedAt, lockWindowMillis, bytesUnderLock, home, database, error, verification,
        repaired, nodes, null);
  }

  /**
   * The copy of this backup to one archive destination: made and where, or why not. A failed copy leaves the backup
   * itself complete.
   *
   * @param destination the destination's configured name
   * @param type its archive strategy
   * @param ok whether the copy was made
   * @param location where it is (no secret); null when it failed
   * @param bytes its size as stored; 0 when it failed
   * @param sha256 the SHA-256 of the stored copy, where the destination keeps one file; else null
   * @param millis how long the copy took
   * @param pruned copies this destination's retention removed after it
   * @param error the failure's one-sentence message; null when it was made
   */
  public record Archive(
      String destination, String type, boolean ok, String location, long bytes, String sha256, long millis,
      List<String> pruned, String error) {}

  /** The archive copies that failed, in the order of the destinations. */
  public List<Archive> failedArchives() {
    return archives == null ? List.of() : archives.stream().filter(a -> !a.ok()).toList();
  }

  public Manifest withArchives(List<Archive> a) {
    return new Manifest(
        formatVersion, tag, state, instance, bitbucketVersion, snapstashVersion, strategies, tools, startedAt,
        finishedAt, phases, lockedAt, unlockedAt, lockWindowMillis, bytesUnderLock, home, database, error, verification,
        repaired, nodes, a == null ? null : List.copyOf(a));
  }
  public static final String FILE = dev.snapstash.core.spi.PreviousCopy.MANIFEST;

  public enum State {
    IN_PROGRESS,
    COMPLETE,
    FAILED
  }

  /**
   * One strategy's share of the backup.
   *
   * @param strategy its name
   * @param bytes size of what the backup holds
   * @param files number of files
   * @param bytesWritten bytes actually written for this backup (less than {@code bytes} with hard-linked
   *     incrementals)
   * @param artifacts checksummed files
   * @param details strategy facts
   */
  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Part(
      String strategy, long bytes, long files, long bytesWritten, List<Artifact> artifacts, Map<String, String> details) {}

  /**
   * The last verification.
   *
   * @param at when it ran
   * @param ok whether every check passed
   * @param deep whether every repository was given a full fsck (within the budget), or a sample connectivity-only
   * @param fsckRepositories the repositories {@code git fsck} checked to the end, relative to the home
   * @param fsck what {@code git fsck} covered; null in manifests verified before it was recorded
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Verification(Instant at, boolean ok, boolean deep, List<String> fsckRepositories, Fsck fsck) {}

  /**
   * What {@code git fsck} covered in a verification.
   *
   * @param mode {@value #FULL} (every object read and hashed) or {@value #CONNECTIVITY} (only that the objects
   *     reachable from commits, trees and tags exist; blobs are not read)
   * @param checked repositories checked to the end
   * @param total repositories in the backup
   * @param budget the time a full fsck was allowed, or null for the connectivity-only sample
   * @param budgetExhausted whether the budget ran out before every repository was checked (the rest were not)
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Fsck(String mode, int checked, int total, java.time.Duration budget, boolean budgetExhausted) {
    public static final String FULL = "full";
    public static final String CONNECTIVITY = "connectivity-only";
  }

  /**
   * Files of the previous backup's home copy that no longer matched their recorded digests when this backup was
   * taken. This backup holds a fresh copy of each that the home still had; the previous backup was left as it was,
   * so that verifying it shows the damage.
   *
   * @param previous the tag of the damaged backup
   * @param count how many files
   * @param paths the first {@link #LISTED} of them, relative to the home
   */
  public record Repaired(String previous, long count, List<String> paths) {
    public static final int LISTED = 100;

    public static Repaired of(String previous, List<String> damaged) {
      return new Repaired(previous, damaged.size(), List.copyOf(damaged.subList(0, Math.min(LISTED, damaged.size()))));
    }
  }

  /**
   * Whether the backup was taken with no lock at all (zero-downtime mode): a complete backup taken under a lock
   * always records how long the lock was held, so one without that figure had none. A restore of it tells Bitbucket
   * to check its integrity at the first start.
   */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean takenWithoutALock() {
    return state == State.COMPLETE && lockWindowMillis == null && lockedAt == null;
  }

  public Manifest withVerification(Verification v) {
    return new Manifest(
        formatVersion, tag, state, instance, bitbucketVersion, snapstashVersion, strategies, tools, startedAt,
        finishedAt, phases, lockedAt, unlockedAt, lockWindowMillis, bytesUnderLock, home, database, error, v, repaired,
        nodes, archives);
  }

  /** Total size of the backup. */
  public long bytes() {
    return (home == null ? 0 : home.bytes()) + (database == null ? 0 : database.bytes());
  }

  public long totalMillis() {
    return finishedAt == null ? 0 : finishedAt.toEpochMilli() - startedAt.toEpochMilli();
  }

  public Manifest withState(State s, Instant finished, String err) {
    return new Manifest(
        formatVersion, tag, s, instance, bitbucketVersion, snapstashVersion, strategies, tools, startedAt, finished,
        phases, lockedAt, unlockedAt, lockWindowMillis, bytesUnderLock, home, database, err, verification, repaired,
        nodes, archives);
  }
}
