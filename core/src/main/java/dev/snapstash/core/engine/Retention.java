package dev.snapstash.core.engine;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Which backups to keep. Rules as restic's {@code forget}: keep the newest N; the newest backup of each of the
 * last N days (weeks, months) that have backups. Days, weeks (ISO) and months are UTC, like the tags.
 *
 * <p>Invariants, property-tested: kept and removed partition the input; the newest complete backup is always
 * kept; a backup in progress is never removed; a looser policy never removes more. With no rule at all nothing is
 * removed.
 */
public final class Retention {
  /** A policy; zero disables a rule. */
  public record Policy(int keepLast, int keepDaily, int keepWeekly, int keepMonthly) {
    public Policy {
      if (keepLast < 0 || keepDaily < 0 || keepWeekly < 0 || keepMonthly < 0) {
        throw new IllegalArgumentException("retention counts cannot be negative");
      }
    }

    public boolean isEmpty() {
      return keepLast == 0 && keepDaily == 0 && keepWeekly == 0 && keepMonthly == 0;
    }
  }

  /** What retention needs to know of a backup. */
  public record Item(String tag, Manifest.State state, Instant startedAt) {
    public static Item of(Manifest m) {
      return new Item(m.tag(), m.state(), m.startedAt());
    }
  }

  /** The decision, with the reasons each kept backup is kept. */
  public record Decision(Map<Item, List<String>> keep, List<Item> remove) {}

  private Retention() {}

  public static Decision decide(List<Item> items, Policy policy) {
    List<Item> newestFirst = new ArrayList<>(items);
    // By start time, not by tag: a tag begins with the instance name, which may have changed between backups.
    newestFirst.sort(
        java.util.Comparator.comparing(Item::startedAt, java.util.Comparator.nullsFirst(java.util.Comparator.naturalOrder()))
            .thenComparing(Item::tag)
            .reversed());
    Map<Item, List<String>> keep = new LinkedHashMap<>();
    if (policy.isEmpty()) {
      newestFirst.forEach(i -> keep.computeIfAbsent(i, k -> new ArrayList<>()).add("no retention rule"));
      return new Decision(keep, List.of());
    }
    List<Item> complete =
        newestFirst.stream().filter(i -> i.state() == Manifest.State.COMPLETE).toList();
    for (Item i : newestFirst) {
      if (i.state() == Manifest.State.IN_PROGRESS) {
        keep.computeIfAbsent(i, k -> new ArrayList<>()).add("in progress");
      }
    }
    if (!complete.isEmpty()) {
      keep.computeIfAbsent(complete.get(0), k -> new ArrayList<>()).add("newest complete");
    }
    for (int n = 0; n < Math.min(policy.keepLast(), complete.size()); n++) {
      keep.computeIfAbsent(complete.get(n), k -> new ArrayList<>()).add("last " + policy.keepLast());
    }
    bucket(complete, policy.keepDaily(), "daily", i -> i.startedAt().atZone(ZoneOffset.UTC).toLocalDate().toString(), keep);
    bucket(
        complete,
        policy.keepWeekly(),
        "weekly",
        i -> {
          var d = i.startedAt().atZone(ZoneOffset.UTC);
          return d.get(IsoFields.WEEK_BASED_YEAR) + "-W" + d.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR);
        },
        keep);
    bucket(
        complete,
        policy.keepMonthly(),
        "monthly",
        i -> {
          var d = i.startedAt().atZone(ZoneOffset.UTC);
          return d.getYear() + "-" + d.getMonthValue();
        },
        keep);
    List<Item> remove = newestFirst.stream().filter(i -> !keep.containsKey(i)).toList();
    return new Decision(keep, remove);
  }

  private static void bucket(
      List<Item> newestFirst, int n, String rule, Function<Item, String> key, Map<Item, List<String>> keep) {
    String last = null;
    int kept = 0;
    for (Item i : newestFirst) {
      if (kept >= n) {
        return;
      }
      String k = key.apply(i);
      if (!k.equals(last)) {
        keep.computeIfAbsent(i, x -> new ArrayList<>()).add(rule + " " + k);
        kept++;
        last = k;
      }
    }
  }
}
