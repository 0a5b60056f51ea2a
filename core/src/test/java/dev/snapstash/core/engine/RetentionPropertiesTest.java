package dev.snapstash.core.engine;

import dev.snapstash.core.util.Tags;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

class RetentionPropertiesTest {

  @Property
  void keptAndRemovedPartitionTheInput(@ForAll("backups") List<Retention.Item> items, @ForAll("policies") Retention.Policy p) {
    Retention.Decision d = Retention.decide(items, p);
    Set<Retention.Item> kept = d.keep().keySet();
    Set<Retention.Item> removed = new HashSet<>(d.remove());
    assertThat(java.util.Collections.disjoint(kept, removed)).isTrue();
    Set<Retention.Item> union = new HashSet<>(kept);
    union.addAll(removed);
    assertThat(union).isEqualTo(new HashSet<>(items));
  }

  @Property
  void theNewestCompleteBackupIsNeverRemoved(@ForAll("backups") List<Retention.Item> items, @ForAll("policies") Retention.Policy p) {
    Retention.Decision d = Retention.decide(items, p);
    items.stream()
        .filter(i -> i.state() == Manifest.State.COMPLETE)
        .max((a, b) -> a.tag().compareTo(b.tag()))
        .ifPresent(newest -> assertThat(d.remove()).doesNotContain(newest));
  }

  @Property
  void backupsInProgressAreNeverRemoved(@ForAll("backups") List<Retention.Item> items, @ForAll("policies") Retention.Policy p) {
    assertThat(Retention.decide(items, p).remove()).noneMatch(i -> i.state() == Manifest.State.IN_PROGRESS);
  }

  @Property
  void aLooserPolicyNeverRemovesMore(
      @ForAll("backups") List<Retention.Item> items,
      @ForAll("policies") Retention.Policy p,
      @ForAll @IntRange(max = 3) int a,
      @ForAll @IntRange(max = 3) int b,
      @ForAll @IntRange(max = 3) int c,
      @ForAll @IntRange(max = 3) int e) {
    // The empty policy means "retention disabled" (keep everything), not "keep nothing": it has no looser form.
    net.jqwik.api.Assume.that(!p.isEmpty());
    Retention.Policy looser = new Retention.Policy(p.keepLast() + a, p.keepDaily() + b, p.keepWeekly() + c, p.keepMonthly() + e);
    assertThat(Retention.decide(items, p).remove()).containsAll(Retention.decide(items, looser).remove());
  }

  @Property
  void keepLastKeepsExactlyTheNewestCompleteOnes(@ForAll("backups") List<Retention.Item> items, @ForAll @IntRange(min = 1, max = 10) int n) {
    Retention.Decision d = Retention.decide(items, new Retention.Policy(n, 0, 0, 0));
    List<Retention.Item> complete =
        items.stream().filter(i -> i.state() == Manifest.State.COMPLETE).sorted((x, y) -> y.tag().compareTo(x.tag())).toList();
    assertThat(d.keep().keySet()).containsAll(complete.subList(0, Math.min(n, complete.size())));
    assertThat(d.remove()).containsAll(complete.subList(Math.min(n, complete.size()), complete.size()));
  }

  @Property
  void withNoRuleNothingIsRemoved(@ForAll("backups") List<Retention.Item> items) {
    assertThat(Retention.decide(items, new Retention.Policy(0, 0, 0, 0)).remove()).isEmpty();
  }

  @Provide
  Arbitrary<Retention.Policy> policies() {
    Arbitrary<Integer> n = Arbitraries.integers().between(0, 6);
    return Combinators.combine(n, n, n, n).as(Retention.Policy::new);
  }

  /** Backups at distinct times over about a year, in every state, tagged as the engine tags them. */
  @Provide
  Arbitrary<List<Retention.Item>> backups() {
    Instant base = Instant.parse("2026-01-01T00:00:00Z");
    Arbitrary<Long> offsets = Arbitraries.longs().between(0, 400L * 24 * 3600);
    Arbitrary<Manifest.State> states =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(8, Arbitraries.just(Manifest.State.COMPLETE)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(Manifest.State.FAILED)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(Manifest.State.IN_PROGRESS)));
    return Combinators.combine(offsets.set().ofMaxSize(40), states.list().ofSize(40))
        .as(
            (offs, st) -> {
              List<Retention.Item> out = new ArrayList<>();
              int i = 0;
              for (long o : offs) {
                Instant t = base.plus(o, ChronoUnit.SECONDS);
                out.add(new Retention.Item(Tags.tag("bb", t), st.get(i++), t));
              }
              return out;
            });
  }
}
