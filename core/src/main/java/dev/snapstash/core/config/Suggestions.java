package dev.snapstash.core.config;

import java.util.Collection;
import java.util.Optional;

/** "Did you mean …?" for misspelt keys and variables. */
final class Suggestions {
  private Suggestions() {}

  /**
   * The candidate nearest to {@code typo} by edit distance (insertions, deletions, substitutions and swaps of
   * neighbouring characters each count one), if it is near enough to be a plausible typo. Ties go to the candidate
   * of the same length, then to the first in iteration order.
   */
  static Optional<String> nearest(String typo, Collection<String> candidates) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String c : candidates) {
      int d = distance(typo.toLowerCase(java.util.Locale.ROOT), c.toLowerCase(java.util.Locale.ROOT));
      boolean better =
          d < bestDistance
              || (d == bestDistance
                  && Math.abs(c.length() - typo.length()) < Math.abs(best.length() - typo.length()));
      if (better) {
        best = c;
        bestDistance = d;
      }
    }
    if (best == null) {
      return Optional.empty();
    }
    int limit = Math.max(1, Math.min(3, Math.min(best.length(), typo.length()) / 3));
    return bestDistance <= limit ? Optional.of(best) : Optional.empty();
  }

  /** Optimal string alignment distance (Damerau-Levenshtein without repeated edits of one substring). */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          v = Math.min(v, d[i - 2][j - 2] + 1);
        }
        d[i][j] = v;
      }
    }
    return d[a.length()][b.length()];
  }
}
