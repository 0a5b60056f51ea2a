package dev.snapstash.core.stage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The examples docs/staging.md points at are valid as they are shipped. */
class StagingExamplesTest {
  private static final Path EXAMPLES = Path.of("..", "examples");

  @Test
  void theStagingExampleLoadsAndItsRulesParse() {
    SnapstashConfig c = ConfigLoader.load(EXAMPLES.resolve("staging.yml"), Map.of());
    assertThat(c.stage().mailSink()).isEqualTo("mailhog.example.com:1025");
    assertThat(c.stage().rulesFile()).isEqualTo(EXAMPLES.resolve("staging-rules.yml").toAbsolutePath().normalize());
    RuleSet set = RuleSet.load(c.stage().rulesFile());
    var decisions = set.decide("8.19.1",
        Parameters.of(c.instance().baseUrl().toString(), "jdbc:postgresql://db-staging.example.com:5432/bitbucket_staging",
            c.stage().mailSink(), null),
        c.stage().enableRules(), c.stage().skipRules());
    assertThat(decisions).filteredOn(d -> d.entry().rule().id().equals("staging-proxy") || d.entry().rule().id().equals("mirror-settings-8x"))
        .extracting(RuleSet.Decision::runs).containsExactly(true, true);
    assertThat(set.entries()).extracting(e -> e.rule().id()).containsSubsequence(List.of("proxy-settings", "staging-proxy"));
  }
}
