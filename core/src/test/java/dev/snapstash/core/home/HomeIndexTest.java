package dev.snapstash.core.home;

import dev.snapstash.core.home.HomeIndex;
import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.util.ListLines;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HomeIndexTest {
  @TempDir Path backup;

  private static final String EXCLUDES = "caches/ log/ tmp/";

  private static HomeIndex.Dir dir(char c, long files, long bytes) {
    return new HomeIndex.Dir(String.valueOf(c).repeat(64), files, bytes);
  }

  private static Map<String, HomeIndex.Dir> walked() {
    Map<String, HomeIndex.Dir> walked = new LinkedHashMap<>();
    walked.put("", dir('a', 2, 4096));
    walked.put("shared/data/repositories/1", dir('b', 0, 0));
    walked.put("shared/data/repositories/1/objects/ab", dir('c', 999_999_999_999L, 9_999_999_999_999_999L));
    walked.put("odd\nname\\with\rescapes", dir('d', 1, 1));
    walked.put("caf\u00e9", dir('e', 3, 7));
    walked.put("changed", dir('f', 1, 1));
    walked.put("new/inside", dir('0', 1, 1));
    return walked;
  }

  /** The lines as they were written when each was built as a string: indexes of earlier versions read the same. */
  @Test
  void theIndexIsTheListLinesOfEachDirectoryAsBefore() throws Exception {
    int listed = HomeIndex.write(backup, EXCLUDES, walked(), Set.of("changed"), Set.of("new"));
    StringBuilder expected = new StringBuilder("# snapstash home index 3, excludes ")
        .append(dev.snapstash.core.util.Digests.sha256(EXCLUDES.getBytes(StandardCharsets.UTF_8))).append('\n');
    walked().forEach((dir, d) -> {
      HomeIndex.Dir w = dir.equals("changed") || dir.startsWith("new/") ? HomeIndex.UNKNOWN : d;
      expected.append(ListLines.line(
          w.digest() + ' ' + String.format("%012d", w.files()) + ' ' + String.format("%016d", w.bytes()),
          dir.isEmpty() ? "." : dir));
    });
    assertThat(Files.readString(backup.resolve(HomeIndex.FILE))).isEqualTo(expected.toString());
    assertThat(listed).isEqualTo(5);
  }

  @Test
  void whatWasWrittenIsReadBackWithTheSameExcludesOnly() throws Exception {
    HomeIndex.write(backup, EXCLUDES, walked(), Set.of("changed"), Set.of("new"));
    Map<String, HomeIndex.Dir> read = HomeIndex.read(backup, EXCLUDES).orElseThrow();
    assertThat(read).hasSize(7).containsEntry("caf\u00e9", dir('e', 3, 7)).containsEntry("changed", HomeIndex.UNKNOWN);
    assertThat(HomeIndex.read(backup, "other excludes")).isEmpty();
    Map<String, HomeIndex.Dir> visited = new HashMap<>();
    assertThat(HomeIndex.readLike(backup, backup, visited::put)).isTrue();
    assertThat(visited).isEqualTo(read);
  }

  /** The index is kept in memory once written or read, but only while the file is the one written. */
  @Test
  void anIndexChangedOnDiskIsReadFromDiskAgain() throws Exception {
    Path f = backup.resolve(HomeIndex.FILE);
    HomeIndex.write(backup, EXCLUDES, walked(), Set.of(), Set.of());
    assertThat(HomeIndex.read(backup, EXCLUDES)).isPresent();
    Files.writeString(f, ListLines.line("1".repeat(64) + " 000000000001 0000000000000001", "added"), StandardOpenOption.APPEND);
    assertThat(HomeIndex.read(backup, EXCLUDES).orElseThrow()).containsKey("added").hasSize(8);
    Files.writeString(f, "damaged\n", StandardOpenOption.APPEND);
    assertThat(HomeIndex.read(backup, EXCLUDES)).isEmpty();
    Files.delete(f);
    assertThat(HomeIndex.read(backup, EXCLUDES)).isEmpty();
    assertThat(HomeIndex.readLike(backup, backup, (d, x) -> {})).isFalse();
  }
}
