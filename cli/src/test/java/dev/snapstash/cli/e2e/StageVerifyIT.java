package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.stage.JvmArgsBlock;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * After {@code snapstash stage}, the staged copy started as a sandbox on the staging home and database: {@code stage
 * verify} passes every check through the REST API; the lockout recovery {@code stage --apply-jvm-args} wrote lets
 * {@code recovery_admin} in, and nothing else does; a base URL set back to production's fails the verification
 * with exit code 11, naming the check.
 */
class StageVerifyIT {
  @RegisterExtension static final PostgresFixture PRODUCTION_PG = new PostgresFixture();
  @RegisterExtension static final PostgresFixture STAGING_PG = new PostgresFixture();

  private static final String LICENCE = "AAAB-development-licence-for-staging-0123456789";

  @TempDir Path tmp;

  @Test
  void aStagedCopyPassesVerifyAndLetsTheRecoveryAdminIn() throws Exception {
    TestDatabase prodDb = PRODUCTION_PG.newDatabase();
    TestDatabase stagingDb = STAGING_PG.newDatabase();
    Path prodConfig;
    String prodBaseUrl;
    try (Scenario s = Scenario.start(tmp.resolve("prod"), DbKind.POSTGRESQL, prodDb)) {
      prodConfig = s.config();
      prodBaseUrl = s.sandbox.baseUrl();
      Scenario.Run backup = snapstash("-c", prodConfig.toString(), "backup");
      assertThat(backup.exit()).as(backup.out() + backup.err()).isZero();
    }

    // The staging sandbox's directory: its home is where stage restores, its bin/_start-webapp.sh is its start file.
    Path stagingDir = tmp.resolve("staging");
    Path stagingHome = stagingDir.resolve("home");
    Path startFile = stagingDir.resolve("bin/_start-webapp.sh");
    int port = freePort();
    String stagingUrl = "http://127.0.0.1:" + port;
    Path adminPassword = Files.writeString(tmp.resolve("staging-admin-password"), "staging-admin-secret-1\n");
    Files.writeString(tmp.resolve("dev.licence"), LICENCE + "\n");
    Files.writeString(tmp.resolve("own-rules.yml"), """
        format: 1
        rules:
          - id: sandbox-mail-to-sink
            description: The sandbox keeps its mail server in app_property mail.server.*; send it to the sink.
            sql:
              - UPDATE app_property SET prop_value = ${mail-sink-host} WHERE prop_key = 'mail.server.host'
              - UPDATE app_property SET prop_value = ${mail-sink-port} WHERE prop_key = 'mail.server.port'
            verify:
              sql: SELECT COUNT(*) FROM app_property WHERE prop_key = 'mail.server.host' AND prop_value <> ${mail-sink-host}
              expect: "0"
        """);
    Path staging = Files.writeString(tmp.resolve("staging.yml"),
        "instance:\n  name: staging\n  base-url: " + stagingUrl + "\n  home: " + stagingHome + "\n  username: admin\n"
            + "  password: ${file:" + adminPassword + "}\n"
            + "backup:\n  root: " + tmp.resolve("staging-own-backups") + "\n"
            + "quiesce:\n  type: none\n" + BackupUnderLoadIT.section(DbKind.POSTGRESQL, stagingDb)
            + "stage:\n  mail-sink: 127.0.0.1:1025\n  license-file: " + tmp.resolve("dev.licence")
            + "\n  enable-rules: [mirror-settings-8x]\n  rules-file: " + tmp.resolve("own-rules.yml")
            + "\n  audit-dir: " + tmp.resolve("audit") + "\n  hosts-file: " + tmp.resolve("hosts") + "\n");
    Files.writeString(tmp.resolve("hosts"), "127.0.0.1 localhost\n");

    Scenario.Run staged = snapstash("-c", prodConfig.toString(), "stage", "--from", "latest", "--staging",
        staging.toString(), "--yes", "--apply-jvm-args", startFile.toString());
    assertThat(staged.exit()).as(staged.out() + staged.err()).isZero();
    String recovery = Files.readString(tmp.resolve("audit/stage-recovery-password")).strip();
    assertThat(staged.out() + staged.err()).doesNotContain(recovery).contains(startFile.toString());
    assertThat(Files.readString(startFile)).contains(JvmArgsBlock.BEGIN)
        .contains("-Datlassian.recovery.password=" + recovery);
    assertThat(Files.getPosixFilePermissions(startFile)).hasSize(2);

    // ---- the staged copy, started with the start file: every check passes; recovery_admin is let in.
    try (Scenario s = Scenario.start(stagingDir, DbKind.POSTGRESQL, stagingDb,
        o -> o.withPort(port).withAdminPasswordFile(adminPassword))) {
      assertThat(s.sandbox.baseUrl()).isEqualTo(stagingUrl);
      Scenario.Run verify = snapstash("--json", "stage", "verify", "--staging", staging.toString());
      assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
      Map<String, String> outcomes = outcomes(verify.json());
      assertThat(outcomes).containsEntry("instance", "PASS").containsEntry("base-url", "PASS")
          .containsEntry("mail-server", "PASS").containsEntry("license", "PASS").containsEntry("mirrors", "PASS")
          .containsEntry("database", "PASS");
      assertThat(verify.out() + verify.err()).doesNotContain(LICENCE).doesNotContain("staging-admin-secret-1")
          .doesNotContain(stagingDb.password());
      Scenario.Run text = snapstash("stage", "verify", "--staging", staging.toString());
      assertThat(text.exit()).isZero();
      assertThat(text.out()).contains("PASS    mail-server      mail server 127.0.0.1:1025").contains("every check passed");

      assertThat(status(stagingUrl, "recovery_admin", recovery)).isEqualTo(200);
      assertThat(status(stagingUrl, "recovery_admin", recovery + "x")).isEqualTo(401);

      // ---- the base URL set back to production's: that check fails, exit 11, named; the others still pass.
      try (Connection c = stagingDb.connect();
          PreparedStatement ps = c.prepareStatement("UPDATE app_property SET prop_value = ? WHERE prop_key = 'instance.url'")) {
        ps.setString(1, prodBaseUrl);
        assertThat(ps.executeUpdate()).isEqualTo(1);
      }
      Scenario.Run drifted = snapstash("--json", "stage", "verify", "--staging", staging.toString());
      assertThat(drifted.exit()).as(drifted.out() + drifted.err()).isEqualTo(11);
      assertThat(drifted.err()).contains("base-url").doesNotContain("Exception");
      assertThat(outcomes(drifted.json())).containsEntry("base-url", "FAIL").containsEntry("mail-server", "PASS");
    }

    // ---- without the recovery block, recovery_admin is an unknown user.
    Files.writeString(startFile, JvmArgsBlock.without(Files.readString(startFile)));
    try (Scenario s = Scenario.start(stagingDir, DbKind.POSTGRESQL, stagingDb,
        o -> o.withPort(port).withAdminPasswordFile(adminPassword))) {
      assertThat(status(stagingUrl, "recovery_admin", recovery)).isEqualTo(401);
      assertThat(status(stagingUrl, "admin", "staging-admin-secret-1")).isEqualTo(200);
    }
  }

  private static Map<String, String> outcomes(JsonNode json) {
    JsonNode result = json.has("checks") ? json : json.path("result");
    Map<String, String> out = new LinkedHashMap<>();
    result.path("checks").forEach(c -> out.put(c.get("id").asText(), c.get("outcome").asText()));
    assertThat(out).as(json.toString()).isNotEmpty();
    return out;
  }

  /** A SYSADMIN resource with these credentials. */
  private static int status(String base, String user, String password) throws Exception {
    HttpRequest r = HttpRequest.newBuilder(URI.create(base + "/rest/api/1.0/admin/cluster"))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
            (user + ":" + password).getBytes(StandardCharsets.UTF_8)))
        .GET().build();
    return HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
