package dev.snapstash.strategy.disk.rsync;

import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.util.Natives;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * What {@code check} says of the change tracker's two fast paths, each tried for real on the home: inotify opened,
 * one watch placed on the home and closed; the home listed. So a JNA that does not load, a C library without
 * statx, or a watch limit below the home's directories shows in {@code check}, not first in a backup's log.
 */
final class TrackerCheck {
  private TrackerCheck() {}

  /** How long {@code check} may spend counting the home's directories; past it, the count is a lower bound. */
  static final long COUNT_BUDGET_NANOS = 2_000_000_000L;

  /** Adds an {@code inotify} and a {@code listing} finding for a tracked backup of {@code home}. */
  static void check(Path home, Predicate<String> skip, Optional<String> nativeOff, Findings findings) {
    check(home, skip, nativeOff, MountPolicy.watchLimit(), findings);
  }

  /** {@link #check(Path, Predicate, Optional, Findings)} against a given watch limit (the sysctl's, if known). */
  static void check(
      Path home, Predicate<String> skip, Optional<String> nativeOff, Optional<Long> limit, Findings findings) {
    Listing.Chosen listing = Listing.choose(nativeOff);
    Count count;
    try {
      count = count(home, skip, listing.listing(), limit.orElse(Long.MAX_VALUE - 1) + 1);
      findings.ok("listing", listing.choice().describe());
    } catch (IOException | RuntimeException e) {
      findings.warning(
          "listing",
          listing.choice().path() + " cannot list the home (" + e.getMessage() + "), so changes cannot be tracked; the"
              + " delta under the lock walks the whole home");
      count = null;
    }
    Natives.Choice inotify;
    try (Inotify in = Inotify.open(nativeOff)) {
      in.watch(home, Inotify.IN_CREATE | Inotify.IN_ONLYDIR);
      inotify = in.choice();
    } catch (IOException | RuntimeException e) {
      findings.warning(
          "inotify",
          "cannot watch the home (" + e.getMessage() + "), so changes cannot be tracked; the delta under the lock"
              + " walks the whole home");
      return;
    }
    StringBuilder why = new StringBuilder(inotify.why());
    limit.ifPresent(n -> why.append(why.isEmpty() ? "" : "; ").append("fs.inotify.max_user_watches ").append(n));
    if (count != null) {
      why.append(", the home has ").append(count.complete() ? "" : "more than ").append(count.directories())
          .append(" directories");
    }
    String message = inotify.path() + " (" + why + ")";
    if (count != null && limit.isPresent() && count.directories() > limit.get()) {
      findings.warning(
          "inotify",
          message + ": more directories than watches, so changes cannot be tracked and the delta under the lock"
              + " walks the whole home; raise the sysctl fs.inotify.max_user_watches above the number of directories");
    } else {
      findings.ok("inotify", message);
    }
  }

  /** How many directories a tracker would watch (the excluded ones left out), counted up to {@code cap}. */
  record Count(long directories, boolean complete) {}

  static Count count(Path home, Predicate<String> skip, Listing listing, long cap) throws IOException {
    long deadline = System.nanoTime() + COUNT_BUDGET_NANOS;
    Deque<String> todo = new ArrayDeque<>();
    todo.push("");
    long n = 0;
    String shown = home.toString();
    listing.lstat(Inotify.pathBytes(shown), shown);
    while (!todo.isEmpty()) {
      if (n >= cap || System.nanoTime() > deadline) {
        return new Count(n, false);
      }
      String relative = todo.pop();
      Path dir = relative.isEmpty() ? home : home.resolve(relative);
      String name = dir.toString();
      if (name.indexOf('\uFFFD') >= 0) {
        continue;
      }
      n++;
      List<Listing.Entry> entries = listing.list(Inotify.pathBytes(name), name);
      if (entries == null) {
        continue;
      }
      for (Listing.Entry e : entries) {
        if (e.stat().type() == Listing.S_IFDIR) {
          String child = new String(e.name(), Inotify.NAMES);
          String rel = relative.isEmpty() ? child : relative + "/" + child;
          if (!skip.test(rel)) {
            todo.push(rel);
          }
        }
      }
    }
    return new Count(n, true);
  }
}
