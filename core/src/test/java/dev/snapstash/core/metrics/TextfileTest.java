package dev.snapstash.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.metrics.Textfile.Family;
import dev.snapstash.core.metrics.Textfile.Sample;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextfileTest {
  @TempDir Path tmp;

  /** A line of the text format, from its grammar: a comment, or name{labels} value [timestamp]. */
  static final Pattern LINE =
      Pattern.compile(
          "# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*"
              + "|[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\\\\\"n])*\""
              + "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\\\\\"n])*\")*)?\\})?"
              + " ([-+]?[0-9.]+([eE][-+]?[0-9]+)?|NaN|[+-]Inf)( -?[0-9]+)?");

  static List<Family> families(int n) {
    List<Sample> samples = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      samples.add(Sample.of(i * 1.5, "instance", "bb-" + i, "operation", "backup"));
    }
    return List.of(
        new Family("snapstash_a", "Help with a \\ backslash\nand a newline.", "gauge", samples),
        new Family("snapstash_b", "Labels that need escaping.", "gauge",
            List.of(Sample.of(1, "path", "C:\\dir \"quoted\"\nnext"), Sample.of(1765324800.123, "path", "plain"))),
        new Family("snapstash_c", "No labels.", "gauge", List.of(new Sample(new java.util.TreeMap<>(), 0))));
  }

  @Test
  void whatIsRenderedIsValidTextFormatAndParsesBackToTheSameFamilies() {
    List<Family> in = families(3);
    String text = Textfile.render(in);
    for (String line : text.split("\n")) {
      assertThat(LINE.matcher(line).matches()).as(line).isTrue();
    }
    assertThat(text).contains("snapstash_b{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 1\n");
    assertThat(text).contains("# HELP snapstash_a Help with a \\\\ backslash\\nand a newline.\n");
    assertThat(text).contains("snapstash_b{path=\"plain\"} 1765324800.123\n");
    assertThat(Textfile.parse(text)).isEqualTo(in);
  }

  @Test
  void theParserRefusesWhatTheFormatForbids() {
    String head = "# HELP m x\n# TYPE m gauge\n";
    assertThatThrownBy(() -> Textfile.parse("m 1\n")).hasMessageContaining("line 1: m has no HELP and TYPE");
    assertThatThrownBy(() -> Textfile.parse(head + "m{a=\"1\"} 1\nm{a=\"1\"} 2\n"))
        .hasMessageContaining("line 4: a second series m{a=1}");
    assertThatThrownBy(() -> Textfile.parse(head + "m{a=\"\\x\"} 1\n")).hasMessageContaining("line 3: bad labels");
    assertThatThrownBy(() -> Textfile.parse(head + "m{a=\"1\",a=\"2\"} 1\n")).hasMessageContaining("label a twice");
    assertThatThrownBy(() -> Textfile.parse(head + "m one\n")).hasMessageContaining("bad value one");
    assertThatThrownBy(() -> Textfile.parse(head + "m 1")).hasMessageContaining("partial file");
    assertThatThrownBy(() -> Textfile.parse(head + "# TYPE m gauge\nm 1\n")).hasMessageContaining("a second TYPE");
    assertThatThrownBy(() -> Textfile.parse(head + "# HELP n y\n# TYPE n gauge\nm{a=\"1\"} 1\nn 1\nm{a=\"2\"} 1\n"))
        .hasMessageContaining("not together");
    assertThatThrownBy(() -> Textfile.parse("# HELP m x\n# TYPE m gaugee\n")).hasMessageContaining("unknown type");
    assertThat(Textfile.parse(head + "# any comment\n\nm{a=\"1\"} +Inf 1700000000000\n"))
        .singleElement()
        .satisfies(f -> assertThat(f.samples()).containsExactly(Sample.of(Double.POSITIVE_INFINITY, "a", "1")));
  }

  @Test
  void theWriterRefusesARepeatedSeries() {
    Family twice = new Family("m", "x", "gauge", List.of(Sample.of(1, "a", "1"), Sample.of(2, "a", "1")));
    assertThatThrownBy(() -> Textfile.render(List.of(twice))).hasMessageContaining("repeated series of m");
  }

  @Test
  void anUpdateSeesThePreviousFamiliesAndLeavesAFileTheCollectorCanReadAndNothingElseThatEndsInProm() throws Exception {
    Textfile file = new Textfile(tmp.resolve("collector/snapstash.prom"));
    assertThat(file.read()).isEmpty();
    List<List<Family>> seen = new ArrayList<>();
    file.update(previous -> {
      seen.add(previous);
      return families(1);
    });
    file.update(previous -> {
      seen.add(previous);
      return families(2);
    });
    assertThat(seen).containsExactly(List.of(), families(1));
    assertThat(file.read()).isEqualTo(families(2));
    assertThat(Files.getPosixFilePermissions(file.file())).isEqualTo(PosixFilePermissions.fromString("rw-r--r--"));
    try (Stream<Path> s = Files.list(file.file().getParent())) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".prom")))
          .containsExactly("snapstash.prom");
    }
    try (Stream<Path> s = Files.list(file.file().getParent())) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp"))).as("no temporary left").isEmpty();
    }
  }

  @Test
  void aPreviousFileNotInTheFormatIsReplacedAndSaidSo() throws Exception {
    Textfile file = new Textfile(tmp.resolve("snapstash.prom"));
    Files.writeString(file.file(), "garbage\n");
    List<List<Family>> seen = new ArrayList<>();
    boolean replaced = file.update(previous -> {
      seen.add(previous);
      return families(1);
    });
    assertThat(replaced).isTrue();
    assertThat(seen).containsExactly(List.of());
    assertThat(file.read()).isEqualTo(families(1));
  }

  /**
   * While one thread rewrites the file with contents of very different lengths, a reader sees only whole files:
   * each read parses and is exactly one of the contents written. A plain rewrite in place fails this at once.
   */
  @Test
  void aReaderNeverSeesAPartialFile() throws Exception {
    Textfile file = new Textfile(tmp.resolve("snapstash.prom"));
    Set<String> written = new HashSet<>();
    for (int n : new int[] {1, 400, 3, 2000}) {
      written.add(Textfile.render(families(n)));
    }
    file.update(p -> families(1));
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger reads = new AtomicInteger();
    AtomicReference<String> bad = new AtomicReference<>();
    Thread reader = new Thread(() -> {
      while (!stop.get() && bad.get() == null) {
        try {
          String text = Files.readString(file.file(), StandardCharsets.UTF_8);
          if (!written.contains(text)) {
            bad.set(text.length() + " characters that were never written whole");
          }
          Textfile.parse(text);
          reads.incrementAndGet();
        } catch (NoSuchFileException e) {
          bad.set("the file was missing for a moment");
        } catch (Exception e) {
          bad.set(e.toString());
        }
      }
    });
    reader.start();
    int[] sizes = {400, 1, 2000, 3};
    for (int i = 0; i < 60 && bad.get() == null; i++) {
      int n = sizes[i % sizes.length];
      file.update(p -> families(n));
    }
    stop.set(true);
    reader.join();
    assertThat(bad.get()).isNull();
    assertThat(reads.get()).as("the reader read while the writer wrote").isPositive();
  }
}
