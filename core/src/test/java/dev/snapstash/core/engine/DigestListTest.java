package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.util.ListLines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DigestListTest {
  @TempDir Path backup;

  private void list(String... pathsAndDigits) throws Exception {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < pathsAndDigits.length; i += 2) {
      sb.append(ListLines.line(pathsAndDigits[i + 1].repeat(64), pathsAndDigits[i]));
    }
    Files.writeString(backup.resolve(HomeChecksums.FILE), sb.toString());
  }

  private static List<String> entries(DigestList l) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < l.size(); i++) {
      out.add(l.path(i) + "=" + l.digest(i).charAt(0));
    }
    return out;
  }

  @Test
  void aPrefetchedListIsTheListAsRead() throws Exception {
    list("a/HEAD", "1", "a/objects/ab/cd", "2", "b/odd\nname", "3");
    List<String> direct = entries(DigestList.read(backup));
    DigestList.prefetch(backup);
    assertThat(entries(DigestList.read(backup))).isEqualTo(direct).containsExactly("a/HEAD=1", "a/objects/ab/cd=2", "b/odd\nname=3");
  }

  /** What was read ahead is used only while the file is the one read. */
  @Test
  void aListChangedAfterItsPrefetchIsReadAgain() throws Exception {
    list("a/HEAD", "1");
    DigestList.prefetch(backup);
    Thread.sleep(50);
    list("a/HEAD", "4", "c/new", "5");
    assertThat(entries(DigestList.read(backup))).containsExactly("a/HEAD=4", "c/new=5");
    Files.delete(backup.resolve(HomeChecksums.FILE));
    DigestList.prefetch(backup);
    assertThat(DigestList.read(backup).size()).isZero();
  }
}
