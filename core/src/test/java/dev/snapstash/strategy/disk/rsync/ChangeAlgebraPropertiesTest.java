package dev.snapstash.strategy.disk.rsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.util.Trees;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The change algebra on random records over a small tree of names, so that nesting, siblings whose names share a
 * prefix ("a" and "a-b") and the home itself ("") come up often. The home is a set of directories closed under
 * their parents, as a real one is.
 */
class ChangeAlgebraPropertiesTest {

  @Property
  void aFoldNamesOnlyDirectoriesThatExistAndNestsNothing(
      @ForAll("paths") Set<String> existing, @ForAll("paths") Set<String> dirs, @ForAll("paths") Set<String> trees) {
    Predicate<String> home = home(existing);
    Changes c = ChangeAlgebra.fold(dirs, trees, home);
    assertThat(c.directories()).allMatch(home).isSubsetOf(dirs);
    assertThat(c.subtrees()).allMatch(home).isSubsetOf(trees);
    for (String t : c.subtrees()) {
      Set<String> others = new HashSet<>(c.subtrees());
      others.remove(t);
      assertThat(Trees.insideAny(t, others)).as("%s inside another subtree of %s", t, c).isFalse();
    }
    assertThat(c.directories()).noneMatch(d -> Trees.insideAny(d, c.subtrees()));
  }

  /** Nothing that changed and still exists is lost: it is a changed directory, or inside a subtree copied whole. */
  @Property
  void aFoldCoversEveryChangeThatStillExists(
      @ForAll("paths") Set<String> existing, @ForAll("paths") Set<String> dirs, @ForAll("paths") Set<String> trees) {
    Predicate<String> home = home(existing);
    Changes c = ChangeAlgebra.fold(dirs, trees, home);
    for (String t : trees) {
      if (home.test(t)) {
        assertThat(Trees.insideAny(t, c.subtrees())).as("subtree %s in %s", t, c).isTrue();
      }
    }
    for (String d : dirs) {
      if (home.test(d)) {
        assertThat(c.directories().contains(d) || Trees.insideAny(d, c.subtrees())).as("directory %s in %s", d, c).isTrue();
      }
    }
  }

  @Property
  void aFoldOfAFoldChangesNothing(
      @ForAll("paths") Set<String> existing, @ForAll("paths") Set<String> dirs, @ForAll("paths") Set<String> trees) {
    Predicate<String> home = home(existing);
    Changes c = ChangeAlgebra.fold(dirs, trees, home);
    assertThat(ChangeAlgebra.fold(c.directories(), c.subtrees(), home)).isEqualTo(c);
  }

  @Property
  void mergingIsCommutativeAssociativeAndIdempotentWithNothingAsItsIdentity(
      @ForAll("paths") Set<String> existing,
      @ForAll("paths") Set<String> d1, @ForAll("paths") Set<String> t1,
      @ForAll("paths") Set<String> d2, @ForAll("paths") Set<String> t2,
      @ForAll("paths") Set<String> d3, @ForAll("paths") Set<String> t3) {
    Predicate<String> home = home(existing);
    Changes a = ChangeAlgebra.fold(d1, t1, home);
    Changes b = ChangeAlgebra.fold(d2, t2, home);
    Changes c = ChangeAlgebra.fold(d3, t3, home);
    Changes none = new Changes(new TreeSet<>(), new TreeSet<>());
    assertThat(ChangeAlgebra.merge(a, b, home)).isEqualTo(ChangeAlgebra.merge(b, a, home));
    assertThat(ChangeAlgebra.merge(ChangeAlgebra.merge(a, b, home), c, home))
        .isEqualTo(ChangeAlgebra.merge(a, ChangeAlgebra.merge(b, c, home), home));
    assertThat(ChangeAlgebra.merge(a, a, home)).isEqualTo(a);
    assertThat(ChangeAlgebra.merge(a, none, home)).isEqualTo(a);
  }

  /** The delta of a merge copies at least what each record's delta would have. */
  @Property
  void aMergeCoversBothRecords(
      @ForAll("paths") Set<String> existing,
      @ForAll("paths") Set<String> d1, @ForAll("paths") Set<String> t1,
      @ForAll("paths") Set<String> d2, @ForAll("paths") Set<String> t2) {
    Predicate<String> home = home(existing);
    Changes a = ChangeAlgebra.fold(d1, t1, home);
    Changes b = ChangeAlgebra.fold(d2, t2, home);
    Changes m = ChangeAlgebra.merge(a, b, home);
    for (Changes part : new Changes[] {a, b}) {
      assertThat(part.subtrees()).allMatch(t -> Trees.insideAny(t, m.subtrees()));
      assertThat(part.directories()).allMatch(d -> m.directories().contains(d) || Trees.insideAny(d, m.subtrees()));
    }
  }

  @Property
  void theHomeIsComparedExactlyWhenItChangedAndNothingElseMoves(
      @ForAll("paths") Set<String> existing, @ForAll("paths") Set<String> dirs, @ForAll("paths") Set<String> trees,
      @ForAll boolean homeChanged) {
    Changes c = ChangeAlgebra.fold(dirs, trees, home(existing));
    Changes with = ChangeAlgebra.withHome(c, homeChanged);
    assertThat(with.subtrees()).isEqualTo(c.subtrees());
    Set<String> added = new TreeSet<>(with.directories());
    added.removeAll(c.directories());
    assertThat(with.directories()).containsAll(c.directories());
    boolean covered = c.directories().contains("") || ChangeAlgebra.coversWholeHome(c);
    assertThat(added).isEqualTo(homeChanged && !covered ? Set.of("") : Set.of());
  }

  /** A record whose subtrees include the home is an overflow for the whole home, and then names nothing else. */
  @Property
  void aRecordCoveringTheWholeHomeHoldsNothingElse(
      @ForAll("paths") Set<String> existing, @ForAll("paths") Set<String> dirs, @ForAll("paths") Set<String> trees) {
    Set<String> withHome = new HashSet<>(trees);
    withHome.add("");
    Changes c = ChangeAlgebra.fold(dirs, withHome, home(existing));
    assertThat(ChangeAlgebra.coversWholeHome(c)).isTrue();
    assertThat(c.subtrees()).containsExactly("");
    assertThat(c.directories()).isEmpty();
  }

  @Property
  void aRecordIsNameableUnlessAPathHoldsAnUndecodableName(
      @ForAll("paths") Set<String> dirs, @ForAll("paths") Set<String> trees, @ForAll boolean broken) {
    Set<String> d = new TreeSet<>(dirs);
    if (broken) {
      d.add("caf\uFFFD");
    }
    Changes c = new Changes(new TreeSet<>(d), new TreeSet<>(trees));
    assertThat(ChangeAlgebra.nameable(c)).isEqualTo(!broken);
  }

  /** A directory is gone from the copy's index exactly when it is below a changed one and missing from the copy. */
  @Property
  void whatTheCopyLostIsExactlyTheMissingDirectoriesBelowAChangedOne(
      @ForAll("paths") Set<String> walked, @ForAll("paths") Set<String> changed, @ForAll("paths") Set<String> copy) {
    Set<String> gone = ChangeAlgebra.removedFromCopy(walked, changed, home(copy));
    for (String dir : walked) {
      boolean expected = !dir.isEmpty() && Trees.insideAny(Trees.parentOf(dir), changed) && !home(copy).test(dir);
      assertThat(gone.contains(dir)).as(dir).isEqualTo(expected);
    }
    assertThat(gone).isSubsetOf(walked);
  }

  @Property
  void aPreCopyFromTheIndexVisitsExactlyTheDirectoriesThatDiffer(
      @ForAll("digests") Map<String, Integer> walked, @ForAll("digests") Map<String, Integer> previous) {
    // An odd digest stands for one the walk could not take (HomeIndex.UNKNOWN): never trusted, even when equal.
    Changes c = ChangeAlgebra.differing(walked, previous, d -> d % 2 == 0);
    assertThat(c.subtrees()).isEmpty();
    for (var e : walked.entrySet()) {
      boolean differs = e.getValue() % 2 != 0 || !e.getValue().equals(previous.get(e.getKey()));
      assertThat(c.directories().contains(e.getKey())).as(e.getKey()).isEqualTo(differs);
    }
    assertThat(c.directories()).isSubsetOf(walked.keySet());
  }

  @Provide
  Arbitrary<Set<String>> paths() {
    return path().set().ofMaxSize(8);
  }

  @Provide
  Arbitrary<Map<String, Integer>> digests() {
    return Arbitraries.maps(path(), Arbitraries.integers().between(0, 3)).ofMaxSize(8);
  }

  private static Arbitrary<String> path() {
    return Arbitraries.of("a", "b", "a-b", "c").list().ofMaxSize(3).map(l -> String.join("/", l));
  }

  /** The home as a set of directories, each with its parents (and the home itself), as a real tree has them. */
  private static Predicate<String> home(Set<String> dirs) {
    Set<String> all = new HashSet<>();
    for (String d : dirs) {
      for (String p = d; ; p = Trees.parentOf(p)) {
        all.add(p);
        if (p.isEmpty()) {
          break;
        }
      }
    }
    all.add("");
    return all::contains;
  }
}
