package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The resources {@code stage verify} reads, in the OAS shapes, from the rows a production instance has (the seed):
 * the mail server, the licence, the mirror farm; links from the configured base URL; and Bitbucket's lockout
 * recovery, read from the start environment file the sandbox was started with.
 */
class StagingResourcesTest {
  private static final String RECOVERY = "Rec0very-Pass_word-123";

  @TempDir static Path dir;
  static RunningSandbox sandbox;
  static Http admin;
  static Http user;

  @BeforeAll
  static void start() throws Exception {
    Path sb = dir.resolve("sb");
    Path start = new SandboxLayout(sb).startEnvironment();
    Files.createDirectories(start.getParent());
    Files.writeString(start, "#JVM_SUPPORT_RECOMMENDED_ARGS=\"\"\n"
        + "JVM_SUPPORT_RECOMMENDED_ARGS=\"${JVM_SUPPORT_RECOMMENDED_ARGS} -Datlassian.recovery.password=" + RECOVERY + "\"\n");
    sandbox = RunningSandbox.start(SandboxOptions.defaults(sb).withPort(0).withContent(1, 1, 1, 1), new ProcessRunner());
    admin = new Http(sandbox.baseUrl(), "admin", sandbox.adminPassword());
    user = new Http(sandbox.baseUrl(), "user", sandbox.userPassword());
  }

  @AfterAll
  static void stop() {
    if (sandbox != null) {
      sandbox.close();
    }
  }

  @Test
  void theMailServerAsRestMailConfigurationWithoutItsPassword() {
    Http.Answer a = admin.send("GET", "/rest/api/latest/admin/mail-server");
    assertThat(a.status()).isEqualTo(200);
    JsonNode m = a.json();
    assertThat(m.get("hostname").asText()).isEqualTo("smtp.corp.example.com");
    assertThat(m.get("port").asInt()).isEqualTo(587);
    assertThat(m.get("protocol").asText()).isEqualTo("SMTP");
    assertThat(m.get("useStartTls").asBoolean()).isTrue();
    assertThat(m.has("password")).isFalse();
    assertThat(user.send("GET", "/rest/api/1.0/admin/mail-server").status()).isIn(401, 403);
  }

  @Test
  void theLicenceAsRestBitbucketLicense() {
    Http.Answer a = admin.send("GET", "/rest/api/1.0/admin/license");
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.json().get("license").asText()).startsWith("AAAB");
    assertThat(a.json().get("status").get("serverId").asText()).isEqualTo(a.json().get("serverId").asText());
  }

  @Test
  void theMirrorFarmAsAPageOfRestMirrorServer() {
    Http.Answer a = admin.send("GET", "/rest/mirroring/latest/mirrorServers");
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.json().get("size").asInt()).isEqualTo(1);
    JsonNode m = a.json().get("values").get(0);
    assertThat(m.get("baseUrl").asText()).isEqualTo("https://mirror1.corp.example.com");
    assertThat(m.get("mirrorType").asText()).isEqualTo("FARM");
    assertThat(admin.send("GET", "/rest/api/1.0/mirroring/mirrorServers").status()).isEqualTo(404);
  }

  @Test
  void theRecoveryAdminLogsInWithTheStartFilesPasswordOnly() {
    assertThat(new Http(sandbox.baseUrl(), "recovery_admin", RECOVERY).send("GET", "/rest/api/1.0/admin/cluster").status())
        .isEqualTo(200);
    assertThat(new Http(sandbox.baseUrl(), "recovery_admin", RECOVERY + "x").send("GET", "/rest/api/1.0/admin/cluster")
        .status()).isEqualTo(401);
    assertThat(new Http(sandbox.baseUrl(), "recovery_admin", sandbox.adminPassword()).send("GET", "/rest/api/1.0/admin/cluster")
        .status()).isEqualTo(401);
  }
}
