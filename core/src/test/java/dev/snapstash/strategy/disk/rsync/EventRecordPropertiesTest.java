package dev.snapstash.strategy.disk.rsync;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The tracker's record of inotify events, on random event streams cut into reads, with barriers among them: what
 * each barrier hands over at the end of its read is what the events since the previous hand-over said (also those
 * that followed it in the same read, as the JDK's watch service may hand them), subtrees are never forgotten, and
 * anything that makes the record unreliable says so.
 */
class EventRecordPropertiesTest {
  private static final Path HOME = Path.of("/home/bb");
  private static final int BARRIER = 99;
  /** Not an event: where one read ends and the next begins. */
  private static final int END_OF_READ = -2;
  /** Watch descriptors the walk placed, and the directories they name; 7 is one it did not place. */
  private static final Map<Integer, Path> WATCHES =
      Map.of(1, HOME, 2, HOME.resolve("shared"), 3, HOME.resolve("shared/data"), 4, HOME.resolve("caches"));
  private static final int UNKNOWN = 7;

  /** One event: a watch, a mask, a name; or the end of a read. */
  record Event(int watch, int mask, String name) {}

  @Property
  void eachBarrierHandsOverTheDirectoriesWithEventsSinceThePreviousOne(@ForAll("streams") List<Event> stream) {
    EventRecord record = new EventRecord(HOME, rel -> rel.equals("caches") || rel.startsWith("caches/"), BARRIER);
    Set<Path> since = new HashSet<>();
    Set<Path> previousSubtrees = Set.of();
    int barriers = 0;
    for (Event e : stream) {
      if (e.watch() == END_OF_READ) {
        List<EventRecord.Handed> handed = record.endOfRead(WATCHES);
        assertThat(handed).hasSize(barriers);
        for (int i = 0; i < handed.size(); i++) {
          // The first takes the whole read's events; a second barrier in the same read finds none left.
          assertThat(handed.get(i).directories()).isEqualTo(i == 0 ? since : Set.of());
          assertThat(handed.get(i).subtrees()).containsAll(previousSubtrees);
          previousSubtrees = handed.get(i).subtrees();
        }
        if (barriers > 0) {
          since = new HashSet<>();
        }
        barriers = 0;
        continue;
      }
      record.event(e.watch(), e.mask(), e.name());
      if (e.watch() == BARRIER) {
        barriers++;
      } else if (!overflow(e) && !ignored(e) && WATCHES.containsKey(e.watch())) {
        since.add(WATCHES.get(e.watch()));
      }
    }
  }

  /**
   * An event the JDK's watch service hands over after the barrier raised behind it, in the same read, is in that
   * barrier's hand-over, not held back for the next one.
   */
  @Property
  void anEventReadAfterItsBarrierInTheSameReadIsInThatHandOver(@ForAll("streams") List<Event> before) {
    EventRecord record = new EventRecord(HOME, rel -> false, BARRIER);
    for (Event e : before) {
      if (e.watch() == END_OF_READ) {
        record.endOfRead(WATCHES);
      } else {
        record.event(e.watch(), e.mask(), e.name());
      }
    }
    record.event(BARRIER, Inotify.IN_CREATE, "barrier"); // hands over whatever came before
    record.endOfRead(WATCHES);
    record.event(BARRIER, Inotify.IN_CREATE, "barrier");
    record.event(2, Inotify.IN_MODIFY, "x");
    List<EventRecord.Handed> handed = record.endOfRead(WATCHES);
    assertThat(handed).hasSize(1);
    assertThat(handed.get(0).directories()).containsExactly(HOME.resolve("shared"));
  }

  /** A directory made or moved in is a subtree from the next hand-over on, unless it is never copied (skipped). */
  @Property
  void aNewDirectoryIsASubtreeAtEveryLaterBarrierUnlessSkipped(@ForAll("streams") List<Event> stream) {
    EventRecord record = new EventRecord(HOME, rel -> rel.equals("caches") || rel.startsWith("caches/"), BARRIER);
    Set<Path> made = new HashSet<>();
    for (Event e : stream) {
      if (e.watch() == END_OF_READ) {
        for (EventRecord.Handed handed : record.endOfRead(WATCHES)) {
          assertThat(handed.subtrees()).isEqualTo(made);
        }
        continue;
      }
      record.event(e.watch(), e.mask(), e.name());
      if (newDirectory(e) && WATCHES.containsKey(e.watch())) {
        Path entry = WATCHES.get(e.watch()).resolve(e.name());
        String rel = HOME.relativize(entry).toString();
        if (!rel.equals("caches") && !rel.startsWith("caches/")) {
          made.add(entry);
        }
      }
    }
  }

  /** An overflow anywhere, or an event from a watch the walk did not place handed over, loses the record. */
  @Property
  void theRecordIsLostExactlyWhenItCannotBeTrusted(@ForAll("streams") List<Event> stream) {
    EventRecord record = new EventRecord(HOME, rel -> false, BARRIER);
    boolean overflowed = false;
    boolean unknownPending = false;
    boolean unknownHandedOver = false;
    int barriers = 0;
    for (Event e : stream) {
      if (e.watch() == END_OF_READ) {
        record.endOfRead(WATCHES);
        if (barriers > 0) {
          unknownHandedOver |= unknownPending;
          unknownPending = false;
        }
        barriers = 0;
      } else {
        record.event(e.watch(), e.mask(), e.name());
        if (overflow(e)) {
          overflowed = true;
        } else if (e.watch() == BARRIER) {
          barriers++;
        } else if (e.watch() == UNKNOWN && !ignored(e)) {
          unknownPending = true;
        }
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
    Arbitrary<Event> endOfRead = Arbitraries.just(new Event(END_OF_READ, 0, ""));
    // Every stream ends a read last, so each barrier in it is handed over.
    return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(20, home), net.jqwik.api.Tuple.of(4, barrier), net.jqwik.api.Tuple.of(1, overflow),
            net.jqwik.api.Tuple.of(6, endOfRead))
        .list()
        .ofMaxSize(40)
        .map(events -> {
          List<Event> ended = new java.util.ArrayList<>(events);
          ended.add(new Event(END_OF_READ, 0, ""));
          return ended;
        });
  }
}
