package dev.snapstash.core.stage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.spi.DatabaseAddress;
import java.net.URI;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every answer Bitbucket documents (or plausibly gives) for each resource, and the outcome it must lead to. The
 * answers over real HTTP, from the sandbox, are StageVerifyIT's.
 */
class StageVerifierTest {
  private static final String BASE = "https://bitbucket-staging.example.com";
  private static final DatabaseAddress DB = new DatabaseAddress("postgresql", "127.0.0.1", 5432, "bitbucket_staging");

  private final Map<String, StageVerifier.Answer> answers = new HashMap<>();

  private StageVerifier.Verification verify(String sink, String licence, String jdbcUrl) {
    StageVerifier.Http http = (path, authenticated) -> {
      String key = path.replaceAll("\\?.*", "");
      return answers.getOrDefault(key, new StageVerifier.Answer(404, "{\"errors\":[]}"));
    };
    return new StageVerifier(http, new StageVerifier.Expected(URI.create(BASE), sink, licence, DB, jdbcUrl,
        "instance.username and instance.password")).verify();
  }

  private void healthy() {
    answers.put("/rest/api/1.0/application-properties", new StageVerifier.Answer(200, "{\"version\":\"8.19.1\"}"));
    answers.put("/rest/api/1.0/projects", new StageVerifier.Answer(200,
        "{\"values\":[{\"key\":\"PRJ\",\"links\":{\"self\":[{\"href\":\"" + BASE + "/projects/PRJ\"}]}}]}"));
    answers.put("/rest/api/1.0/admin/mail-server", new StageVerifier.Answer(404, "{\"errors\":[]}"));
    answers.put("/rest/api/1.0/admin/license", new StageVerifier.Answer(200, "{\"license\":\"AAAB-dev\",\"serverId\":\"B1\"}"));
    answers.put("/rest/mirroring/latest/mirrorServers", new StageVerifier.Answer(200, "{\"values\":[],\"size\":0}"));
  }

  private static String outcome(StageVerifier.Verification v, String id) {
    return v.checks().stream().filter(c -> c.id().equals(id)).findFirst().orElseThrow().outcome().name();
  }

  @Test
  void aSanitisedInstancePassesEveryCheck() {
    healthy();
    var v = verify("", "AAAB-dev\n", "jdbc:postgresql://localhost/bitbucket_staging");
    assertThat(v.ok()).as(v.text()).isTrue();
    assertThat(v.checks()).allMatch(c -> c.outcome() == StageVerifier.Outcome.PASS);
    assertThat(v.text()).doesNotContain("AAAB-dev").contains("every check passed");
  }

  @Test
  void theBaseUrlIsReadFromLinksAndComparedAsBrowsersDo() {
    healthy();
    answers.put("/rest/api/1.0/projects", new StageVerifier.Answer(200,
        "{\"values\":[{\"links\":{\"self\":[{\"href\":\"HTTPS://Bitbucket-Staging.example.com:443/projects/PRJ\"}]}}]}"));
    assertThat(outcome(verify("", null, null), "base-url")).isEqualTo("PASS");
    answers.put("/rest/api/1.0/projects", new StageVerifier.Answer(200,
        "{\"values\":[{\"links\":{\"self\":[{\"href\":\"https://bitbucket.example.com/projects/PRJ\"}]}}]}"));
    var v = verify("", null, null);
    assertThat(v.ok()).isFalse();
    assertThat(v.failed()).containsExactly("base-url");
    assertThat(v.text()).contains("links under https://bitbucket.example.com");
    answers.put("/rest/api/1.0/projects", new StageVerifier.Answer(200, "{\"values\":[]}"));
    assertThat(outcome(verify("", null, null), "base-url")).isEqualTo("UNKNOWN");
  }

  @Test
  void theMailServerIsNoneOrTheSink() {
    healthy();
    answers.put("/rest/api/1.0/admin/mail-server", new StageVerifier.Answer(204, ""));
    assertThat(outcome(verify("", null, null), "mail-server")).isEqualTo("PASS");
    answers.put("/rest/api/1.0/admin/mail-server",
        new StageVerifier.Answer(200, "{\"hostname\":\"smtp.corp.example.com\",\"port\":587}"));
    assertThat(outcome(verify("", null, null), "mail-server")).isEqualTo("FAIL");
    assertThat(outcome(verify("mailhog:1025", null, null), "mail-server")).isEqualTo("FAIL");
    answers.put("/rest/api/1.0/admin/mail-server", new StageVerifier.Answer(200, "{\"hostname\":\"mailhog\",\"port\":1025}"));
    assertThat(outcome(verify("mailhog:1025", null, null), "mail-server")).isEqualTo("PASS");
  }

  @Test
  void theLicenceMustBeTheDevelopmentOneWhenGivenAndIsNeverShown() {
    healthy();
    var v = verify("", "AAAB-other", null);
    assertThat(outcome(v, "license")).isEqualTo("FAIL");
    assertThat(v.text()).doesNotContain("AAAB-other").doesNotContain("AAAB-dev");
    answers.put("/rest/api/1.0/admin/license", new StageVerifier.Answer(404, "{}"));
    assertThat(outcome(verify("", "AAAB-dev", null), "license")).isEqualTo("FAIL");
    assertThat(outcome(verify("", null, null), "license")).isEqualTo("UNKNOWN");
  }

  @Test
  void anyMirrorFailsAndAnAbsentMirroringApiMeansNone() {
    healthy();
    answers.put("/rest/mirroring/latest/mirrorServers", new StageVerifier.Answer(200,
        "{\"values\":[{\"id\":\"M1\",\"baseUrl\":\"https://mirror1.corp.example.com\"}]}"));
    var v = verify("", null, null);
    assertThat(v.failed()).containsExactly("mirrors");
    assertThat(v.text()).contains("https://mirror1.corp.example.com");
    answers.remove("/rest/mirroring/latest/mirrorServers");
    assertThat(outcome(verify("", null, null), "mirrors")).isEqualTo("PASS");
  }

  @Test
  void refusedCredentialsNameTheKeysAndTheDatabaseIsTheStagingOne() {
    healthy();
    answers.put("/rest/api/1.0/admin/mail-server", new StageVerifier.Answer(401, "{}"));
    var v = verify("", null, "jdbc:postgresql://db-prod.internal:5432/bitbucket");
    assertThat(v.failed()).containsExactly("mail-server", "database");
    assertThat(v.text()).contains("instance.username and instance.password");
    assertThat(outcome(verify("", null, null), "database")).isEqualTo("UNKNOWN");
  }

  @Test
  void anInstanceThatDoesNotAnswerAsBitbucketFails() {
    var v = verify("", null, null);
    assertThat(v.failed()).contains("instance");
  }
}
