package dev.snapstash.core.stage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.engine.BitbucketProperties;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The shipped rules on real PostgreSQL and MariaDB: applied, verified, idempotent; a failing rule rolled back. */
class RuleRunnerIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();
  @RegisterExtension static final MariaDbFixture MARIADB = new MariaDbFixture();

  @TempDir Path tmp;

  private static TestDatabase database(String kind) {
    return kind.equals("postgresql") ? PG.newDatabase() : MARIADB.newDatabase();
  }

  /** A production-like copy: the tables the rules touch, with Bitbucket's quoting of AO_ tables. */
  private static void seed(TestDatabase db) throws Exception {
    boolean maria = db.kind().contains("maria");
    String q = maria ? "`" : "\"";
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE plugin_setting (id BIGINT PRIMARY KEY, namespace VARCHAR(255) NOT NULL, key_name VARCHAR(255) NOT NULL, key_value TEXT NOT NULL)");
      s.execute("CREATE TABLE app_property (prop_key VARCHAR(50) NOT NULL PRIMARY KEY, prop_value VARCHAR(2000) NOT NULL)");
      s.execute("CREATE TABLE " + q + "AO_A0B856_WEBHOOK" + q + " (" + q + "ID" + q + " INTEGER PRIMARY KEY, " + q + "URL" + q + " TEXT, " + q + "ACTIVE" + q + " BOOLEAN)");
      s.execute("CREATE TABLE sta_repo_hook (id INTEGER PRIMARY KEY, hook_key VARCHAR(255), is_enabled BOOLEAN NOT NULL)");
      s.execute("CREATE TABLE " + q + "AO_1A2B3C_AOSLACK_LINK" + q + " (" + q + "ID" + q + " INTEGER PRIMARY KEY, " + q + "BOT_ACCESS_TOKEN" + q + " VARCHAR(255))");
      s.execute("INSERT INTO plugin_setting VALUES"
          + " (1, 'bitbucket.global.settings', 'acnct.bitbucket.mirror.farm.1.url', 'https://mirror1.example.com'),"
          + " (2, 'bitbucket.global.settings', 'acnct.bitbucket.mirror.settings', '{}'),"
          + " (3, 'bitbucket.global.settings', 'ac.addon.list', '#java.util.List\ncom.atlassian.bitbucket.server.bitbucket-mirror-ac-addon'),"
          + " (4, 'bitbucket.global.settings', 'applinks.admin.0f6b1b5e-1111-2222-3333-444455556666.url', 'https://jira.example.com'),"
          + " (5, 'bitbucket.global.settings', 'applinks.global.application.ids', '#java.util.List\n0f6b1b5e-1111-2222-3333-444455556666'),"
          + " (6, 'bitbucket.global.settings', 'plugins.lastVersion.server', '7021003')");
      s.execute("INSERT INTO app_property VALUES ('instance.url', 'https://bitbucket.example.com'), ('server.id', 'B3WW-UDNX-WQWG-ZXPI'),"
          + " ('license', 'PRODUCTION-LICENCE')");
      s.execute("INSERT INTO " + q + "AO_A0B856_WEBHOOK" + q + " VALUES (1, 'https://ci.example.com/hook', TRUE), (2, 'https://x.example.com', FALSE)");
      s.execute("INSERT INTO sta_repo_hook VALUES (1, 'com.nerdwin15.stash-stash-webhook-jenkins:jenkinsPostReceiveHook', TRUE)");
      s.execute("INSERT INTO " + q + "AO_1A2B3C_AOSLACK_LINK" + q + " VALUES (1, 'xoxb-secret')");
    }
  }

  private static String dump(TestDatabase db) throws Exception {
    boolean maria = db.kind().contains("maria");
    String q = maria ? "`" : "\"";
    List<String> rows = new ArrayList<>();
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      for (String sql : List.of(
          "SELECT key_name, key_value FROM plugin_setting ORDER BY id",
          "SELECT prop_key, prop_value FROM app_property ORDER BY prop_key",
          "SELECT " + q + "ID" + q + ", " + q + "ACTIVE" + q + " FROM " + q + "AO_A0B856_WEBHOOK" + q + " ORDER BY 1",
          "SELECT id, is_enabled FROM sta_repo_hook ORDER BY id",
          "SELECT COUNT(*), 0 FROM " + q + "AO_1A2B3C_AOSLACK_LINK" + q)) {
        try (ResultSet rs = s.executeQuery(sql)) {
          while (rs.next()) {
            rows.add(rs.getString(1) + "=" + rs.getString(2));
          }
        }
      }
    }
    return String.join("\n", rows);
  }

  private Path home(TestDatabase db) throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("shared"));
    String url = (db.kind().contains("postgres") ? "jdbc:postgresql://" : "jdbc:mariadb://") + db.host() + ":" + db.port() + "/" + db.database();
    Files.writeString(home.resolve(BitbucketProperties.RELATIVE_PATH),
        "jdbc.url=" + url + "\njdbc.user=" + db.user() + "\nserver.proxy-name=bitbucket.example.com\nserver.proxy-port=443\n"
            + "server.scheme=https\nserver.secure=true\n");
    return home;
  }

  private static Parameters parameters(TestDatabase db) {
    String url = (db.kind().contains("postgres") ? "jdbc:postgresql://" : "jdbc:mariadb://") + db.host() + ":" + db.port() + "/" + db.database();
    return Parameters.of("https://staging.example.com", url, "", "DEVELOPMENT-LICENCE");
  }

  private static Map<String, RuleRunner.Outcome> byId(RuleRunner.Result r) {
    return r.outcomes().stream().collect(Collectors.toMap(RuleRunner.Outcome::id, o -> o));
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void theShippedRulesApplyVerifyAndChangeNothingTheSecondTime(String kind) throws Exception {
    TestDatabase db = database(kind);
    seed(db);
    Path home = home(db);
    Parameters p = parameters(db);
    var decisions = RuleSet.load(null).decide("7.21.3", p, List.of(), List.of());
    RuleRunner.Result first;
    try (Connection c = db.connect()) {
      first = new RuleRunner(c, home, p).run(decisions);
    }
    assertThat(first.failure()).isNull();
    var o = byId(first);
    assertThat(o.get("mirror-connect-settings").before()).containsExactly("2");
    assertThat(o.get("mirror-connect-settings").after()).containsExactly("0");
    assertThat(o.get("mirror-addon-list").rowsChanged()).isEqualTo(1);
    assertThat(o.get("application-links").rowsChanged()).isEqualTo(2);
    assertThat(o.get("webhooks").rowsChanged()).isEqualTo(1);
    assertThat(o.get("webhooks").tables()).containsExactly("AO_A0B856_WEBHOOK");
    assertThat(o.get("slack-tokens").tables()).containsExactly("AO_1A2B3C_AOSLACK_LINK");
    assertThat(o.get("slack-users").status()).isEqualTo(RuleRunner.Status.SKIPPED);
    assertThat(o.get("slack-users").reason()).isEqualTo("no table AO_%_AOSLACK_USER in the staging database");
    assertThat(o.get("proxy-settings").properties()).extracting(RuleRunner.PropertyChange::key)
        .containsExactly("server.proxy-name", "server.proxy-port", "server.scheme", "server.secure");
    assertThat(o.get("jdbc-staging-database").status()).isEqualTo(RuleRunner.Status.APPLIED);
    assertThat(o.get("development-license").status()).isEqualTo(RuleRunner.Status.APPLIED);
    assertThat(first.outcomes()).filteredOn(x -> x.status() == RuleRunner.Status.APPLIED)
        .allSatisfy(x -> assertThat(x.verified()).isTrue());
    assertThat(first.outcomes().toString()).doesNotContain("DEVELOPMENT-LICENCE").doesNotContain("PRODUCTION-LICENCE");
    String once = dump(db);
    assertThat(once)
        .doesNotContain("acnct.bitbucket.mirror").doesNotContain("applinks.").doesNotContain("B3WW-UDNX-WQWG-ZXPI")
        .contains("instance.url=https://staging.example.com").contains("license=DEVELOPMENT-LICENCE")
        .contains("server.id=" + Parameters.serverId("https://staging.example.com"))
        .contains("plugins.lastVersion.server=7021003");
    String props = Files.readString(home.resolve(BitbucketProperties.RELATIVE_PATH));

    RuleRunner.Result second;
    try (Connection c = db.connect()) {
      second = new RuleRunner(c, home, p).run(decisions);
    }
    assertThat(second.failure()).isNull();
    assertThat(dump(db)).isEqualTo(once);
    assertThat(Files.readString(home.resolve(BitbucketProperties.RELATIVE_PATH))).isEqualTo(props);
    assertThat(second.outcomes()).filteredOn(x -> !x.id().equals("base-url") && !x.id().equals("server-id") && !x.id().equals("development-license"))
        .allSatisfy(x -> assertThat(x.rowsChanged()).as(x.id()).isZero());
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void aFailingRuleIsRolledBackAndStopsTheRunNamingIt(String kind) throws Exception {
    TestDatabase db = database(kind);
    seed(db);
    Path home = home(db);
    Path own = Files.writeString(tmp.resolve("own.yml"), """
        format: 1
        rules:
          - id: half-done
            description: deletes the base URL, then fails on a table that is not there
            sql:
              - DELETE FROM app_property WHERE prop_key = 'instance.url'
              - DELETE FROM no_such_table
            verify: {sql: "SELECT COUNT(*) FROM app_property", expect: "0"}
          - id: never-reached
            description: after the failure
            sql: ["DELETE FROM app_property"]
            verify: {sql: "SELECT COUNT(*) FROM app_property", expect: "0"}
        """);
    Parameters p = parameters(db);
    var decisions = RuleSet.load(own).decide("8.19.1", p, List.of(), List.of());
    RuleRunner.Result r;
    try (Connection c = db.connect()) {
      r = new RuleRunner(c, home, p).run(decisions);
    }
    assertThat(r.failure()).isNotNull();
    assertThat(r.failure().kind()).isEqualTo(ErrorKind.CONFIG);
    assertThat(r.failure().getMessage()).startsWith("staging rule half-done failed: the staging database refused it")
        .contains("rolled back").contains("stage.skip-rules");
    var o = byId(r);
    assertThat(o.get("half-done").status()).isEqualTo(RuleRunner.Status.FAILED);
    assertThat(o.get("never-reached").status()).isEqualTo(RuleRunner.Status.SKIPPED);
    assertThat(o.get("never-reached").reason()).isEqualTo("not reached: rule half-done failed before it");
    // The rule's first statement was undone with it; the rules before it stay applied.
    assertThat(dump(db)).contains("instance.url=https://staging.example.com");
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql"})
  void aRuleWhoseVerificationFailsIsRolledBack(String kind) throws Exception {
    TestDatabase db = database(kind);
    seed(db);
    Path home = home(db);
    Path own = Files.writeString(tmp.resolve("own.yml"), """
        format: 1
        rules:
          - id: wrong-check
            description: removes one webhook but expects all gone
            sql: ["DELETE FROM \\"AO_A0B856_WEBHOOK\\" WHERE \\"ID\\" = 2"]
            verify: {sql: "SELECT COUNT(*) FROM \\"AO_A0B856_WEBHOOK\\"", expect: "0"}
        """);
    Parameters p = parameters(db);
    var decisions = RuleSet.load(own).decide("8.19.1", p, List.of(), List.of("webhooks"));
    RuleRunner.Result r;
    try (Connection c = db.connect()) {
      r = new RuleRunner(c, home, p).run(decisions);
    }
    assertThat(r.failure().kind()).isEqualTo(ErrorKind.VERIFICATION);
    assertThat(r.failure().getMessage()).isEqualTo("staging rule wrong-check failed: its verification returned '1', not 0;"
        + " it was rolled back and the refresh stopped (fix the rule, or skip it with stage.skip-rules)");
    assertThat(dump(db)).contains("2=f");
  }
}
