package dev.snapstash.strategy.disk.rsync;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The tracker's record of inotify events, on random event streams with barriers among them: what each barrier
 * hands over is what the events since the previous one said, subtrees are never forgotten, and anything that makes
 * the record unreliable says so.
 */
class EventRecordPropertiesTest {
  private static final Path HOME = Path.of("/home/bb");
  private static final int BARRIER = 99;
  /** Watch descriptors the walk placed, and the directories they name; 7 is one it did not place. */
  private static final Map<Integer, Path> WATCHES =
      Map.of(1, HOME, 2, HOME.resolve("shared"), 3, HOME.resolve("shared/data"), 4, HOME.resolve("caches"));
  private static final int UNKNOWN = 7;

  /** One event: a watch, a mask, a name. */
  record Event(int watch, int mask, String name) {}

  @Property
  void eachBarrierHandsOverTheDirectoriesWithEventsSinceThePreviousOne(@ForAll("streams") List<Event> stream) {
    EventRecord record = new EventRecord(HOME, rel -> rel.equals("caches") || rel.startsWith("caches/"), BARRIER);
    Set<Path> since = new HashSet<>();
    Set<Path> previousSubtrees = Set.of();
    for (Event e : stream) {
      Optional<EventRecord.Handed> handed = record.event(e.watch(), e.mask(), e.name(), WATCHES);
      if (e.watch() == BARRIER) {
        assertThat(handed).isPresent();
        assertThat(handed.get().directories()).isEqualTo(since);
        assertThat(handed.get().subtrees()).containsAll(previousSubtrees);
        previousSubtrees = handed.get().subtrees();
        since = new HashSet<>();
      } else {
        assertThat(handed).isEmpty();
        if (!overflow(e) && !ignored(e) && WATCHES.containsKey(e.watch())) {
          since.add(WATCHES.get(e.watch()));
        }
      }
    }
  }

  /** A directory made or moved in is a subtree from the next barrier on, unless it is never copied (skipped). */
  @Property
  void aNewDirectoryIsASubtreeAtEveryLaterBarrierUnlessSkipped(@ForAll("streams") List<Event> stream) {
    EventRecord record = new EventRecord(HOME, rel -> rel.equals("caches") || rel.startsWith("caches/"), BARRIER);
    Set<Path> made = new HashSet<>();
    for (Event e : stream) {
      Optional<EventRecord.Handed> handed = record.event(e.watch(), e.mask(), e.name(), WATCHES);
      if (handed.isPresent()) {
        assertThat(handed.get().subtrees()).isEqualTo(made);
      } else if (newDirectory(e) && WATCHES.containsKey(e.watch())) {
        Path entry = WATCHES.get(e.watch()).resolve(e.name());
        String rel = HOME.relativize(entry).toString();
        if (!rel.equals("caches") && !rel.startsWith("caches/")) {
          made.add(entry);
        }
      }
    }
  }

  /** An overflow anywhere, or an event from a watch the walk did not place before a barrier, loses the record. */
  @Property
  void theRecordIsLostExactlyWhenItCannotBeTrusted(@ForAll("streams") List<Event> stream) {
    EventRecord record = new EventRecord(HOME, rel -> false, BARRIER);
    boolean overflowed = false;
    boolean unknownPending = false;
    boolean unknownHandedOver = false;
    for (Event e : stream) {
      record.event(e.watch(), e.mask(), e.name(), WATCHES);
      if (overflow(e)) {
        overflowed = true;
      } else if (e.watch() == BARRIER) {
        unknownHandedOver |= unknownPending;
        unknownPending = false;
      } else if (e.watch() == UNKNOWN && !ignored(e)) {
        unknownPending = true;
      }
      assertThat(record.lost() != null).isEqualTo(overflowed || unknownHandedOver);
    }
  }

  private static boolean overflow(Event e) {
    return (e.mask() & Inotify.IN_Q_OVERFLOW) != 0;
  }

  private static boolean ignored(Event e) {
    return !overflow(e) && (e.mask() & Inotify.IN_IGNORED) != 0;
  }

  private static boolean newDirectory(Event e) {
    return !overflow(e) && !ignored(e) && e.watch() != BARRIER
        && (e.mask() & Inotify.IN_ISDIR) != 0 && (e.mask() & (Inotify.IN_CREATE | Inotify.IN_MOVED_TO)) != 0;
  }

  @Provide
  Arbitrary<List<Event>> streams() {
    Arbitrary<Integer> watch = Arbitraries.of(1, 2, 3, 4, UNKNOWN);
    Arbitrary<Integer> mask =
        Arbitraries.of(
            Inotify.IN_MODIFY, Inotify.IN_ATTRIB, Inotify.IN_DELETE, Inotify.IN_MOVED_FROM,
            Inotify.IN_CREATE, Inotify.IN_CREATE | Inotify.IN_ISDIR, Inotify.IN_MOVED_TO | Inotify.IN_ISDIR,
            Inotify.IN_DELETE | Inotify.IN_ISDIR, Inotify.IN_IGNORED);
    Arbitrary<String> name = Arbitraries.of("x", "y", "objects", "caches");
    Arbitrary<Event> home = Combinators.combine(watch, mask, name).as(Event::new);
    Arbitrary<Event> barrier = Arbitraries.just(new Event(BARRIER, Inotify.IN_CREATE, "barrier"));
    Arbitrary<Event> overflow = Arbitraries.just(new Event(-1, Inotify.IN_Q_OVERFLOW, ""));
    return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(20, home), net.jqwik.api.Tuple.of(4, barrier), net.jqwik.api.Tuple.of(1, overflow))
        .list()
        .ofMaxSize(40);
  }
}
