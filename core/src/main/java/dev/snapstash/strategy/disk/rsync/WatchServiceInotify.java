package dev.snapstash.strategy.disk.rsync;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@link Inotify} through the JDK's {@link WatchService}, which on Linux is one inotify instance read by a poller
 * thread: the fallback of {@link NativeInotify}, with no JNA. Each watch is a round trip to that thread (slower
 * to place, docs/performance.md); the events are the kernel's, translated back:
 *
 * <ul>
 *   <li>the JDK folds {@code IN_CREATE} and {@code IN_MOVED_TO} into {@code ENTRY_CREATE}, {@code IN_DELETE} and
 *       {@code IN_MOVED_FROM} into {@code ENTRY_DELETE}, {@code IN_MODIFY} and {@code IN_ATTRIB} into {@code
 *       ENTRY_MODIFY}: they come back as {@code IN_CREATE}, {@code IN_DELETE} and {@code IN_MODIFY}, which the
 *       tracker treats alike;
 *   <li>{@code IN_ISDIR} is not passed on, so a created entry is lstat'ed when its event is read: a directory made
 *       and removed before that is gone, as its parent's event already says;
 *   <li>an overflow comes back as {@code IN_Q_OVERFLOW}: the kernel's, which the JDK signals to every key, and
 *       also the JDK's own, when more than 512 events wait in one key (events are read as they come, so only a
 *       burst in one directory does that); either way the record may be incomplete;
 *   <li>events of the watched directory itself (no name: a chmod of it) are dropped by the JDK; its parent's watch
 *       reports the same change, and only the home has no watched parent, which the tracker covers by the home's
 *       change time ({@link HomeChangeTracker#withHome}).
 * </ul>
 *
 * <p>The JDK queues each key when it is first signalled, and again when it is reset with events pending; so a key
 * read just before a barrier's event may hold an earlier event and be queued behind it. {@link #read} therefore
 * drains every queued key before it returns, which keeps {@link Inotify}'s guarantee for the whole call.
 */
final class WatchServiceInotify extends Inotify {
  static final String NAME = "JDK WatchService";

  private final WatchService service;
  /** Each key's descriptor, numbered here: the JDK does not expose the kernel's. */
  private final Map<WatchKey, Integer> ids = new ConcurrentHashMap<>();
  private final AtomicInteger next = new AtomicInteger(1);
  private volatile boolean closed;

  private WatchServiceInotify(WatchService service) {
    this.service = service;
  }

  static WatchServiceInotify open() throws IOException {
    return new WatchServiceInotify(FileSystems.getDefault().newWatchService());
  }

  @Override
  int watch(byte[] path, String name, int mask) throws IOException {
    List<WatchEvent.Kind<?>> kinds = new ArrayList<>();
    if ((mask & (IN_CREATE | IN_MOVED_TO)) != 0) {
      kinds.add(StandardWatchEventKinds.ENTRY_CREATE);
    }
    if ((mask & (IN_DELETE | IN_MOVED_FROM)) != 0) {
      kinds.add(StandardWatchEventKinds.ENTRY_DELETE);
    }
    if ((mask & (IN_MODIFY | IN_ATTRIB)) != 0) {
      kinds.add(StandardWatchEventKinds.ENTRY_MODIFY);
    }
    WatchKey key = Path.of(name).register(service, kinds.toArray(WatchEvent.Kind<?>[]::new));
    return ids.computeIfAbsent(key, k -> next.getAndIncrement());
  }

  @Override
  void read(int timeoutMillis, Sink sink) throws IOException {
    try {
      WatchKey key = service.poll(timeoutMillis, TimeUnit.MILLISECONDS);
      for (; key != null; key = service.poll()) {
        hand(key, sink);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ClosedWatchServiceException e) {
      if (!closed) {
        throw new IOException("the watch service was closed", e);
      }
    }
  }

  private void hand(WatchKey key, Sink sink) {
    // The key may be signalled before the walker that placed it has numbered it: the first of the two numbers it.
    int wd = ids.computeIfAbsent(key, k -> next.getAndIncrement());
    Path dir = (Path) key.watchable();
    for (WatchEvent<?> event : key.pollEvents()) {
      if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
        sink.event(wd, IN_Q_OVERFLOW, "");
      } else {
        Path name = (Path) event.context();
        int mask;
        if (event.kind() == StandardWatchEventKinds.ENTRY_CREATE) {
          mask = IN_CREATE | (Files.isDirectory(dir.resolve(name), LinkOption.NOFOLLOW_LINKS) ? IN_ISDIR : 0);
        } else if (event.kind() == StandardWatchEventKinds.ENTRY_DELETE) {
          mask = IN_DELETE;
        } else {
          mask = IN_MODIFY;
        }
        sink.event(wd, mask, name.toString());
      }
    }
    key.reset();
  }

  @Override
  public void close() {
    closed = true;
    try {
      service.close();
    } catch (IOException e) {
      // nothing to do: the instance is gone either way
    }
  }
}
