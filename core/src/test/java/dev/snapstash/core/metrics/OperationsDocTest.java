package dev.snapstash.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** docs/operations.md and its example alert rules name only metrics snapstash writes, and every one of them. */
class OperationsDocTest {
  private static final Path RULES = Path.of("..", "examples", "prometheus-alerts.yml");
  private static final Path DOC = Path.of("..", "docs", "operations.md");
  private static final Pattern METRIC = Pattern.compile("\\bsnapstash_[a-z0-9_]+");

  private static Set<String> metrics(String text) {
    Set<String> out = new TreeSet<>();
    Matcher m = METRIC.matcher(text);
    while (m.find()) {
      out.add(m.group());
    }
    return out;
  }

  @Test
  void theExampleRulesAreValidYamlOfAlertingRulesOverMetricsThatExist() throws Exception {
    JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(RULES));
    List<String> exprs = new ArrayList<>();
    for (JsonNode group : doc.required("groups")) {
      assertThat(group.required("name").asText()).isNotBlank();
      for (JsonNode rule : group.required("rules")) {
        assertThat(rule.required("alert").asText()).matches("[A-Z][A-Za-z]+");
        assertThat(rule.required("annotations").required("summary").asText()).isNotBlank();
        exprs.add(rule.required("expr").asText());
      }
    }
    assertThat(exprs).isNotEmpty().allSatisfy(e -> assertThat(metrics(e)).isNotEmpty());
    Set<String> named = new TreeSet<>();
    exprs.forEach(e -> named.addAll(metrics(e)));
    assertThat(RunMetrics.HELP.keySet()).containsAll(named);
    assertThat(metrics(Files.readString(RULES))).isSubsetOf(RunMetrics.HELP.keySet());
    assertThat(named).as("the age of the newest verified backup is alerted on")
        .contains(RunMetrics.NEWEST_VERIFIED_TIMESTAMP, RunMetrics.LAST_RUN_SUCCESS);
  }

  @Test
  void theDocumentHoldsTheRulesFileAsItIsAndDescribesEveryMetric() throws Exception {
    String doc = Files.readString(DOC);
    String rules = Files.readString(RULES);
    int at = doc.indexOf("## Alert rules");
    assertThat(at).isPositive();
    int start = doc.indexOf("```yaml\n", at) + "```yaml\n".length();
    assertThat(doc.substring(start, doc.indexOf("```\n", start))).isEqualTo(rules);
    assertThat(metrics(doc)).isEqualTo(RunMetrics.HELP.keySet().stream().collect(java.util.stream.Collectors.toCollection(TreeSet::new)));
  }
}
