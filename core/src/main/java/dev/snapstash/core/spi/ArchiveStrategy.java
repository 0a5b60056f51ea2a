package dev.snapstash.core.spi;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * Keeps copies of complete backups somewhere else (a directory on another disk, an object store, a restic
 * repository), one configured destination per strategy object. The engine calls it only after the unlock, on a
 * backup whose manifest is complete; what it does never changes the local backup.
 *
 * <p>Ownership of partial output: {@link #store} journals an undo step through its {@link UndoLog} before it writes
 * the first byte anywhere, and makes the copy visible (to {@link #list} and {@link #open}) only once it is whole and
 * durable, in one atomic step (a rename, a multipart upload's completion). So a store that fails, is interrupted,
 * or whose process is killed leaves no copy that {@link #list} shows, and the journaled step removes whatever it
 * had written. {@link #store} responds to interruption by failing with INTERRUPTED.
 *
 * <p>A new object built from the same settings sees everything an earlier one stored: the destination itself is
 * the catalogue, never this process's memory. Implementations are safe to use from one thread at a time.
 */
public interface ArchiveStrategy extends Strategy {

  /** Whether the destination can be written (exists, writable, credentials accepted, tools present). Changes nothing. */
  void check(Findings findings);

  /**
   * Copies one complete backup to the destination. The tree is streamed as it is read: no temporary copy of the
   * data on the local disk.
   *
   * @throws dev.snapstash.core.error.SnapstashException STORAGE, UNREACHABLE, AUTHENTICATION or EXTERNAL_COMMAND
   *     when the copy failed, INTERRUPTED when the thread was interrupted; in every case nothing is left listed
   */
  Stored store(Source source, UndoLog undo);

  /**
   * The copies there are, newest first, read from the destination's listing only: no archive is downloaded or
   * opened. A copy being written is never listed.
   */
  List<Archived> list();

  /**
   * Streams one copy back, member by member, in the order it was written. Each member's content is checked against
   * the SHA-256 the copy recorded for it as it is read; a mismatch, a missing member or a damaged copy throws
   * VERIFICATION at the latest when {@link Reader#next()} reaches the end, so a caller that writes the members
   * somewhere keeps them only after {@code next()} returned null.
   *
   * @throws dev.snapstash.core.error.SnapstashException PRECONDITION when there is no copy {@code tag}, CONFIG when
   *     the key to read it is not configured
   */
  Reader open(String tag);

  /** Removes one copy. Removing one that is not there (any more) is no error: a prune killed midway is rerun. */
  void delete(String tag);

  /**
   * A complete backup to copy.
   *
   * @param tag its tag, which names the copy
   * @param dir the backup directory: the home's copy or snapshot, the database dump, the manifest, the checksums
   * @param startedAt when the backup started (what retention orders by)
   */
  record Source(String tag, Path dir, Instant startedAt) {}

  /**
   * A copy just stored.
   *
   * @param location where it is, for a person ({@code /mnt/offsite/bb-20261207-010000.tar.zst}); no secret
   * @param bytes the size of the copy as stored (after compression and encryption)
   * @param sha256 the SHA-256 of the stored bytes, hex; null where the destination keeps no single file
   * @param members how many members (files, directories, links) it holds
   */
  record Stored(String tag, String location, long bytes, String sha256, long members) {}

  /**
   * A copy as listed.
   *
   * @param startedAt when the backup it holds started (from its tag, or the destination's own record)
   * @param bytes its size as stored
   * @param storedAt when it was written, as the destination says
   */
  record Archived(String tag, Instant startedAt, long bytes, Instant storedAt) {}

  /** One member of a copy: a directory, a file, a symbolic link or a hard link to an earlier member. */
  record Member(
      String path, Type type, int mode, long uid, long gid, Instant modified, long size, String linkTarget) {
    public enum Type {
      DIRECTORY,
      FILE,
      SYMLINK,
      HARDLINK
    }
  }

  /** The members of one copy, read in order. Not thread-safe. */
  interface Reader extends Closeable {
    /**
     * The next member, or null at the end, once every member's checksum and the copy's own have been checked.
     * Paths are relative to the backup directory, with '/' separators, never absolute and never with "..".
     */
    Member next() throws IOException;

    /** The content of the member {@link #next()} returned last, for a FILE; read it before calling next() again. */
    InputStream content();

    /** Releases the copy; safe to call twice. */
    @Override
    void close() throws IOException;
  }
}
