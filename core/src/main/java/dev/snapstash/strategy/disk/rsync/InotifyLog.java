package dev.snapstash.strategy.disk.rsync;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The tracker's reading of inotify: one thread takes every event off the instance's queue into an {@link
 * EventRecord}, and a barrier (a file made in a directory of ours, watched by the same instance) marks the point in
 * that queue behind which every earlier event has been read; the record is handed over once the read that held the
 * barrier returns (see {@link EventRecord#endOfRead}). Owns the inotify instance, and closes it when it stops.
 */
final class InotifyLog {
  private final Inotify inotify;
  private final Path barrierDir;
  private final EventRecord record;
  private final Map<Integer, Path> watches;
  /** What the consumer hands over at each barrier. */
  private final BlockingQueue<EventRecord.Handed> handoff = new LinkedBlockingQueue<>();
  private final Thread consumer;
  private volatile boolean stopping;
  private int barriers;

  /**
   * Watches the barrier directory; the consumer does not read yet ({@link #start}).
   *
   * @param barrierDir an empty directory of ours, outside the home, where {@link #barrier} drops its files; nothing
   *     else may be written there
   * @param watches the home's watches by descriptor, as the walk places them
   */
  InotifyLog(Inotify inotify, Path home, Predicate<String> skip, Path barrierDir, Map<Integer, Path> watches)
      throws IOException {
    this.inotify = inotify;
    this.barrierDir = barrierDir;
    this.watches = watches;
    // The barrier directory is watched by the same instance as the home, so a barrier file's event reaches the
    // queue behind every event raised before it.
    int barrierWatch = inotify.watch(barrierDir, Inotify.IN_CREATE | Inotify.IN_ONLYDIR);
    this.record = new EventRecord(home, skip, barrierWatch);
    this.consumer = new Thread(this::consume, "home-change-tracker");
    consumer.setDaemon(true);
  }

  void start() {
    consumer.start();
  }

  /**
   * Everything recorded up to now: a barrier file made now goes through the same queue as the home's events, so
   * once its event is read every earlier change has been. Empty when the barrier was not seen in time, could not be
   * made, or the wait was interrupted; {@link #lost} then says why.
   */
  Optional<EventRecord.Handed> barrier(Duration timeout) {
    try {
      // Empty, but in the backup root like everything snapstash writes there: its owner's only.
      Files.createFile(
          barrierDir.resolve("barrier-" + ++barriers),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      EventRecord.Handed handed = handoff.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
      if (handed == null) {
        record.lose("the change tracker did not see its own barrier within " + timeout.toSeconds() + " s");
      }
      return Optional.ofNullable(handed);
    } catch (IOException e) {
      record.loseFor("cannot write the change tracker's barrier: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      record.loseFor("interrupted");
    }
    return Optional.empty();
  }

  /** Why the record is incomplete, or null while it is complete. */
  String lost() {
    return record.lost();
  }

  void lose(String why) {
    record.loseFor(why);
  }

  /**
   * Stops the consumer, which then closes the inotify instance and so removes every watch. Does not wait for it:
   * the kernel takes about 0.1 s idle to remove 80,000 watches, which what follows the unlock (the checksums) need
   * not wait for.
   */
  void close() {
    stopping = true;
    if (consumer.getState() == Thread.State.NEW) {
      inotify.close();
    }
  }

  /**
   * The consumer thread: runs until {@link #close}, then closes the inotify instance (no other thread reads it, so
   * none can be left reading a closed descriptor).
   */
  private void consume() {
    try {
      while (!stopping) {
        inotify.read(100, record::event);
        handoff.addAll(record.endOfRead(watches));
      }
    } catch (IOException | RuntimeException e) {
      record.lose("change tracker failed: " + e.getMessage());
    } finally {
      inotify.close();
    }
  }
}
