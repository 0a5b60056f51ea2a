package dev.snapstash.core.spi;

import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * A side effect that must be undone if the run dies, and everything needed to undo it with no other state: what a
 * crash journal holds. Each kind is a record owned by the package that makes the side effect, which replays it
 * ({@link #undo}); its provider lists it under the name the journal gives it ({@link Provider#undoTypes}). The
 * journal writes {@code {"undo": "<name>", ...the record's components}}, so a record's name and components are a
 * file format: keep them. Tokens are secrets: the journal is private to its owner and never logged, so a record
 * holding one overrides {@code toString}.
 *
 * <p>{@link #order()} is the order of undoing: thaw first (every writer on the mount is blocked), then cancel and
 * unlock (production is down), then remove what the run made.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "undo")
public interface Undo {
  /** A frozen filesystem: undone first, since every writer on the mount is blocked. */
  int THAW = 0;
  /** The application's backup task. */
  int CANCEL = 1;
  /** The application's lock, or the release command of whatever stopped it. */
  int RELEASE = 2;
  /** Snapshots and other copies the run made outside the backup directory. */
  int DELETE = 3;
  /** The backup directory itself. */
  int REMOVE_BACKUP = 4;

  int order();

  /** What undoing it does, for a person ("unlock https://bitbucket.example.com"); never a secret. */
  String describe();

  /**
   * Undoes it. Returns normally when it is undone, or was already (an instance no longer locked, a mount no longer
   * frozen, a snapshot already gone): a recover killed midway, or run twice, replays it again. Throws {@link
   * dev.snapstash.core.error.SnapstashException} when it could not be undone; the journal then keeps it.
   */
  void undo(Services services);
}
