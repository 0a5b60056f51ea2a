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
}
