package dev.snapstash.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;

/** Properties of duration parsing and of the "did you mean" suggestions. */
class ConfigPropertiesTest {

  @Property
  void everyDurationSurvivesFormatThenParse(
      @ForAll @LongRange(min = -100_000_000_000L, max = 100_000_000_000L) long seconds,
      @ForAll("nanos") int nanos) {
    Duration d = Duration.ofSeconds(seconds, nanos);
    assertThat(Durations.parse(Durations.format(d))).isEqualTo(d);
  }

  @Property
  void millisecondDurationsAreWrittenInShortForm(
      @ForAll @LongRange(min = 1, max = 10_000_000_000_000L) long millis) {
    Duration d = Duration.ofMillis(millis);
    String text = Durations.format(d);
    assertThat(text).matches("(\\d+(d|h|m|s|ms))+");
    assertThat(Durations.parse(text)).isEqualTo(d);
  }

  @Property
  void shortFormsParseToTheirSum(
      @ForAll @LongRange(max = 10_000) long d,
      @ForAll @LongRange(max = 23) long h,
      @ForAll @LongRange(max = 59) long m,
      @ForAll @LongRange(max = 59) long s,
      @ForAll @LongRange(max = 999) long ms) {
    String text = d + "d" + h + "h" + m + "m" + s + "s" + ms + "ms";
    Duration expected =
        Duration.ofDays(d).plusHours(h).plusMinutes(m).plusSeconds(s).plusMillis(ms);
    assertThat(Durations.parse(text)).isEqualTo(expected);
    if (!expected.isZero()) {
      String shortest =
          (d > 0 ? d + "d" : "") + (h > 0 ? h + "h" : "") + (m > 0 ? m + "m" : "") + (s > 0 ? s + "s" : "")
              + (ms > 0 ? ms + "ms" : "");
      assertThat(Durations.format(expected)).isEqualTo(shortest);
    }
  }

  @Provide
  Arbitrary<Integer> nanos() {
    return Arbitraries.oneOf(
        Arbitraries.just(0),
        Arbitraries.integers().between(0, 999).map(ms -> ms * 1_000_000),
        Arbitraries.integers().between(0, 999_999_999));
  }

  /** One level of keys (the keys of one record), a key from it, and that key with one typing mistake. */
  record Typo(List<String> level, String key, String typo) {}

  @Property(tries = 2000)
  void aSingleCharacterTypoSuggestsTheKeyItCameFrom(@ForAll("typos") Typo t) {
    if (t.level().contains(t.typo())) {
      return; // the "typo" is another valid key
    }
    List<String> within1 = t.level().stream().filter(k -> Suggestions.distance(t.typo(), k) <= 1).toList();
    if (within1.size() == 1) {
      assertThat(Suggestions.nearest(t.typo(), t.level())).contains(t.key());
    } else {
      // genuinely ambiguous (unlock -> "nlock" is also lock + 'n'): one of the equally near keys
      assertThat(Suggestions.nearest(t.typo(), t.level())).get().isIn(within1);
    }
  }

  @Provide
  Arbitrary<Typo> typos() {
    List<List<String>> levels = new ArrayList<>();
    Set<List<String>> within = new LinkedHashSet<>();
    within.add(ConfigKeys.names(SnapstashConfig.class));
    ConfigKeys.walk(SnapstashConfig.class).stream()
        .filter(l -> l.field().section() != null)
        .forEach(l -> within.add(ConfigKeys.entryNames(l.field())));
    levels.addAll(within);
    // environment variables are suggested the same way, from one flat list
    levels.add(
        ConfigKeys.walk(SnapstashConfig.class).stream()
            .filter(l -> !l.path().contains("[]") && l.field().section() == null)
            .map(l -> ConfigKeys.envName(l.path()))
            .toList());
    return Arbitraries.of(levels)
        .flatMap(
            level ->
                Arbitraries.of(level)
                    .flatMap(
                        key ->
                            Combinators.combine(
                                    Arbitraries.integers().between(0, 3),
                                    Arbitraries.integers().between(0, key.length() - 1),
                                    Arbitraries.of("abcdefghijklmnopqrstuvwxyz0123456789-_".chars().mapToObj(i -> (char) i).toList()))
                                .as((kind, pos, c) -> new Typo(level, key, edit(key, kind, pos, c)))));
  }

  private static String edit(String key, int kind, int pos, char c) {
    StringBuilder b = new StringBuilder(key);
    switch (kind) {
      case 0 -> b.insert(pos, c);
      case 1 -> b.deleteCharAt(pos);
      case 2 -> b.setCharAt(pos, c == key.charAt(pos) ? (c == 'x' ? 'y' : 'x') : c);
      default -> {
        if (pos + 1 < key.length()) {
          b.setCharAt(pos, key.charAt(pos + 1));
          b.setCharAt(pos + 1, key.charAt(pos));
        } else {
          b.append(c);
        }
      }
    }
    return b.toString();
  }

  @Example
  void farAwayWordsGetNoSuggestion() {
    assertThat(Suggestions.nearest("forever", List.of("keep-last", "keep-daily"))).isEmpty();
    assertThat(Suggestions.nearest("x", List.of("type", "rsync"))).isEmpty();
  }

  @Example
  void swappedNeighboursCountAsOneEdit() {
    assertThat(Suggestions.distance("rsnyc", "rsync")).isEqualTo(1);
    assertThat(Suggestions.nearest("rsnyc", List.of("type", "rsync"))).contains("rsync");
  }
}
