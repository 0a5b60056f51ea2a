package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every row of the fault table in {@code docs/reliability.md} names the tests that prove it; a name that matches no
 * test class or method is a row nobody tests any more (a renamed test leaves the claim standing alone).
 */
class ReliabilityDocTest {
  private static final Path ROOT = Path.of("..");

  @Test
  void everyTestTheFaultTableNamesExists() throws IOException {
    String doc = Files.readString(ROOT.resolve("docs/reliability.md"));
    String table = doc.substring(doc.indexOf("## Fault table"), doc.indexOf("## Fault points"));
    Map<String, String> sources = testSources();
    List<String> missing = new ArrayList<>();
    int named = 0;
    for (String row : table.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| fault")).toList()) {
      String[] cells = row.split("\\|");
      String tests = cells[cells.length - 1].isBlank() ? cells[cells.length - 2] : cells[cells.length - 1];
      String lastClass = null;
      Matcher m = Pattern.compile("`(…)?([A-Za-z0-9]+)(?:\\.([A-Za-z0-9]+))?`").matcher(tests);
      while (m.find()) {
        boolean continued = m.group(1) != null;
        String cls = continued ? lastClass : m.group(2);
        String method = continued ? m.group(2) : m.group(3);
        if (cls == null || !Character.isUpperCase(cls.charAt(0))) {
          continue; // a point's name, an option: not a test
        }
        lastClass = cls;
        named++;
        String source = sources.get(cls);
        if (source == null) {
          missing.add(cls + " (no such test class)");
        } else if (method != null && !method.equals(method.toUpperCase()) && !source.contains(" " + method + "(")) {
          missing.add(cls + "." + method);
        }
      }
    }
    assertThat(named).as("tests named by the table").isGreaterThan(40);
    assertThat(missing).as("tests the fault table names that do not exist").isEmpty();
  }

  /** Test sources of every module, by class name. */
  private static Map<String, String> testSources() throws IOException {
    Map<String, String> byName = new HashMap<>();
    for (String module : List.of("core", "sandbox", "cli")) {
      try (Stream<Path> files = Files.walk(ROOT.resolve(module).resolve("src/test/java"))) {
        for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
          String name = f.getFileName().toString();
          byName.put(name.substring(0, name.length() - ".java".length()), Files.readString(f));
        }
      }
    }
    return byName;
  }
}
