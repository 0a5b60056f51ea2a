package dev.snapstash.core.stage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuleSetTest {
  @TempDir Path tmp;

  private static final Parameters FULL =
      Parameters.of("https://staging.example.com", "jdbc:postgresql://s:5432/bb", "sink.example.com:1025", "LICENCE-TEXT");
  private static final Parameters BARE = Parameters.of("https://staging.example.com", "jdbc:postgresql://s:5432/bb", "", null);

  private static Map<String, RuleSet.Decision> byId(List<RuleSet.Decision> ds) {
    return ds.stream().collect(Collectors.toMap(d -> d.entry().rule().id(), d -> d));
  }

  @Test
  void theShippedRulesCoverTheSeedsList() {
    RuleSet set = RuleSet.load(null);
    assertThat(set.entries()).extracting(e -> e.rule().id()).contains(
        "jdbc-staging-database", "proxy-settings", "mirror-connect-settings", "mirror-addon-list", "mirror-settings-8x",
        "base-url", "server-id", "application-links", "webhooks", "repository-hooks", "slack-tokens", "development-license");
    assertThat(set.entries()).allSatisfy(e -> {
      assertThat(e.source()).isEqualTo(RuleSet.SHIPPED);
      assertThat(e.rule().description()).isNotBlank();
      assertThat(e.rule().verify()).isNotNull();
    });
  }

  @Test
  void versionsDecideWhichMirrorStatementsRun() {
    var old = byId(RuleSet.load(null).decide("7.21.3", FULL, List.of(), List.of()));
    assertThat(old.get("mirror-connect-settings").runs()).isTrue();
    assertThat(old.get("mirror-addon-list").runs()).isTrue();
    assertThat(old.get("mirror-settings-8x").runs()).isFalse();
    var current = byId(RuleSet.load(null).decide("8.19.1", FULL, List.of(), List.of()));
    assertThat(current.get("mirror-connect-settings").reason()).isEqualTo("applies to Bitbucket <8.0, not 8.19.1");
    assertThat(current.get("mirror-settings-8x").reason()).contains("disabled by default").contains("stage.enable-rules");
    var enabled = byId(RuleSet.load(null).decide("8.19.1", FULL, List.of("mirror-settings-8x"), List.of()));
    assertThat(enabled.get("mirror-settings-8x").runs()).isTrue();
    var unknown = byId(RuleSet.load(null).decide(null, FULL, List.of(), List.of()));
    assertThat(unknown.get("mirror-connect-settings").reason()).contains("does not record its version");
    assertThat(unknown.get("base-url").runs()).isTrue();
  }

  @Test
  void aRuleWithoutItsParameterIsSkippedNamingTheKey() {
    var d = byId(RuleSet.load(null).decide("8.19.1", BARE, List.of(), List.of()));
    assertThat(d.get("development-license").runs()).isFalse();
    assertThat(d.get("development-license").reason()).isEqualTo("needs stage.license-file, which is not set");
    assertThat(byId(RuleSet.load(null).decide("8.19.1", FULL, List.of(), List.of())).get("development-license").runs()).isTrue();
  }

  @Test
  void skipAndEnableMustNameKnownRules() {
    assertThat(byId(RuleSet.load(null).decide("8.0", FULL, List.of(), List.of("webhooks"))).get("webhooks").reason())
        .isEqualTo("skipped by stage.skip-rules");
    assertThatThrownBy(() -> RuleSet.load(null).decide("8.0", FULL, List.of("web-hooks"), List.of()))
        .hasMessageContaining("names rule web-hooks");
  }

  @Test
  void theAdministratorsRulesRunAfterTheShippedOnes() throws Exception {
    Path own = Files.writeString(tmp.resolve("own.yml"), """
        format: 1
        rules:
          - id: mail-sink
            description: the sandbox's mail keys to the sink
            sql: ["UPDATE app_property SET prop_value = ${mail-sink-host} WHERE prop_key = 'mail.server.host'"]
            verify: {sql: "SELECT prop_value FROM app_property WHERE prop_key = 'mail.server.host'", expect: "${mail-sink-host}"}
        """);
    RuleSet set = RuleSet.load(own);
    assertThat(set.entries().get(set.entries().size() - 1).rule().id()).isEqualTo("mail-sink");
    assertThat(byId(set.decide("8.0", BARE, List.of(), List.of())).get("mail-sink").reason()).contains("stage.mail-sink");
    assertThat(byId(set.decide("8.0", FULL, List.of(), List.of())).get("mail-sink").runs()).isTrue();
  }

  @Test
  void badRuleFilesAreConfigErrorsNamingTheRule() throws Exception {
    assertThatThrownBy(() -> RuleSet.load(Files.writeString(tmp.resolve("a.yml"), "format: 1\nrules:\n  - id: x\n    description: d\n")))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
        .hasMessageContaining("rule x needs a verify section");
    assertThatThrownBy(() -> RuleSet.load(Files.writeString(tmp.resolve("b.yml"),
        "format: 1\nrules:\n  - id: base-url\n    description: d\n    verify: {absent: [a]}\n")))
        .hasMessageContaining("rule id base-url is used twice");
    assertThatThrownBy(() -> RuleSet.load(Files.writeString(tmp.resolve("c.yml"),
        "format: 1\nrules:\n  - id: y\n    description: d\n    bitbucket: '8'\n    verify: {absent: [a]}\n")))
        .hasMessageContaining("bounds like '>=5.0 <8.0'");
    assertThatThrownBy(() -> RuleSet.load(Files.writeString(tmp.resolve("d.yml"),
        "format: 1\nrules:\n  - id: z\n    descripton: d\n    verify: {absent: [a]}\n")))
        .hasMessageContaining("not a valid rule file");
    assertThatThrownBy(() -> RuleSet.load(Files.writeString(tmp.resolve("e.yml"), "format: 2\nrules: []\n")))
        .hasMessageContaining("format must be 1");
  }

  @Test
  void versionRangesCompareNumerically() {
    var r = RuleSet.Versions.parse(">=5.4 <8.0", "t");
    assertThat(r.contains("5.4")).isTrue();
    assertThat(r.contains("5.10.2")).isTrue();
    assertThat(r.contains("7.21.20")).isTrue();
    assertThat(r.contains("5.3.9")).isFalse();
    assertThat(r.contains("8.0.0")).isFalse();
    assertThat(r.contains("10.0")).isFalse();
    assertThat(RuleSet.Versions.parse("*", "t").contains(null)).isTrue();
  }

  @Test
  void parametersAreBoundNeverSplicedAndSecretsNeverShown() {
    Parameters.Bound b = FULL.bind("INSERT INTO app_property VALUES ('license', ${license}), ('x', ${base-url})");
    assertThat(b.sql()).isEqualTo("INSERT INTO app_property VALUES ('license', ?), ('x', ?)");
    assertThat(b.values()).containsExactly("LICENCE-TEXT", "https://staging.example.com");
    assertThat(FULL.show("v = ${license} / ${base-url}")).isEqualTo("v = ${license} / https://staging.example.com");
    assertThat(FULL.shown()).containsEntry("license", Parameters.REDACTED).doesNotContainValue("LICENCE-TEXT");
  }

  @Test
  void theStagingServerIdHasBitbucketsShapeAndIsStable() {
    String id = Parameters.serverId("https://staging.example.com");
    assertThat(id).matches("[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}");
    assertThat(Parameters.serverId("https://staging.example.com")).isEqualTo(id);
    assertThat(Parameters.serverId("https://staging2.example.com")).isNotEqualTo(id);
  }
}
