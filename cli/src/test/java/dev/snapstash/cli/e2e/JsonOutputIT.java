package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.sandbox.DbKind;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every verb's --json, on success and on failure, against one sandbox: the result alone on success; on failure
 * {"error": {kind, message, exitCode}} (with the verb's result beside it when it had one) and the sentence on
 * stderr. recover's are in JsonOutputTest and RecoverIT, a failed verification's in VerifyIT, quickstart's success
 * in VerifyIT.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsonOutputIT {
  @TempDir static Path tmp;
  private Scenario s;
  private String config;
  private String firstTag;

  @BeforeAll
  void start() {
    s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null);
    config = s.config().toString();
    Scenario.Run backup = snapstash("-c", config, "--json", "backup");
    assertThat(backup.exit()).as(backup.err()).isZero();
    firstTag = backup.json().path("tag").asText();
  }

  @AfterAll
  void stop() {
    if (s != null) {
      s.close();
    }
  }

  /** The error object of a failed run, checked against its exit code and the sentence on stderr. */
  private static JsonNode error(Scenario.Run r, String kind, int exitCode) {
    assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(exitCode);
    JsonNode doc = r.json();
    JsonNode error = doc.path("error");
    assertThat(error.path("kind").asText()).isEqualTo(kind);
    assertThat(error.path("exitCode").asInt()).isEqualTo(exitCode);
    assertThat(r.err()).startsWith("snapstash: " + error.path("message").asText().lines().findFirst().orElseThrow());
    return doc;
  }

  private Path wrongPassword() throws Exception {
    Path wrong = tmp.resolve("wrong");
    Files.writeString(wrong, "wrong");
    Path c = tmp.resolve("wrong-password.yml");
    Files.writeString(c, Files.readString(s.config()).replace(s.dir.resolve("admin-password").toString(), wrong.toString()));
    return c;
  }

  @Test
  void backup() throws Exception {
    Scenario.Run ok = snapstash("-c", config, "--json", "backup");
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.json().path("tag").asText()).matches("sandbox-\\d{8}-\\d{6}");
    assertThat(ok.json().path("state").asText()).isEqualTo("COMPLETE");
    assertThat(ok.json().path("lockWindowMillis").isNumber()).isTrue();

    JsonNode failed = error(snapstash("-c", wrongPassword().toString(), "--json", "backup"), "AUTHENTICATION", 5);
    assertThat(failed.path("error").path("message").asText()).contains("preflight").contains("HTTP 401");
    assertThat(failed.has("result")).as("a backup that failed has no result to show").isFalse();
  }

  @Test
  void check() throws Exception {
    Scenario.Run ok = snapstash("-c", config, "--json", "check");
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.json().isArray()).isTrue();
    assertThat(ok.json().findValuesAsText("subject")).contains("rsync");
    assertThat(ok.json().findValues("problem")).allSatisfy(p -> assertThat(p.asBoolean()).isFalse());

    JsonNode failed = error(snapstash("-c", wrongPassword().toString(), "--json", "check"), "AUTHENTICATION", 5);
    assertThat(failed.path("result").isArray()).as("the findings, beside the error").isTrue();
    assertThat(failed.path("result").findValues("problem")).anySatisfy(p -> assertThat(p.asBoolean()).isTrue());
  }

  @Test
  void list() {
    Scenario.Run ok = snapstash("-c", config, "--json", "list");
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.json().isArray()).isTrue();
    assertThat(ok.json().findValuesAsText("tag")).contains(firstTag);
    assertThat(ok.json().get(0).has("run")).as("only backups in progress have a run").isFalse();

    error(snapstash("-c", tmp.resolve("missing.yml").toString(), "--json", "list"), "CONFIG", 3);
  }

  @Test
  void prune() {
    Scenario.Run ok = snapstash("-c", config, "--json", "prune", "--keep-last", "10", "--dry-run");
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.json().path("kept").has(firstTag)).isTrue();
    assertThat(ok.json().path("removed").size()).isZero();

    JsonNode failed = error(snapstash("-c", config, "--json", "prune"), "USAGE", 2);
    assertThat(failed.path("error").path("message").asText()).contains("no retention rule");
  }

  @Test
  void restore() {
    Path target = tmp.resolve("restored");
    Scenario.Run ok = snapstash("-c", config, "--json", "restore", firstTag, "--home-target", target.toString());
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.json().path("tag").asText()).isEqualTo(firstTag);
    assertThat(ok.json().path("verification").path("ok").asBoolean()).isTrue();

    JsonNode failed =
        error(snapstash("-c", config, "--json", "restore", "no-such-tag", "--home-target", tmp.resolve("r2").toString()),
            "PRECONDITION", 7);
    assertThat(failed.path("error").path("message").asText()).contains("no backup tagged 'no-such-tag'");
  }

  @Test
  void verify() {
    Scenario.Run ok = snapstash("-c", config, "--json", "verify", firstTag);
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.json().path("ok").asBoolean()).isTrue();
    assertThat(ok.json().path("fsck").path("mode").asText()).isEqualTo("connectivity-only");
    assertThat(ok.json().path("checks").findValuesAsText("name")).contains("checksums", "git-fsck");

    error(snapstash("-c", config, "--json", "verify", "no-such-tag"), "PRECONDITION", 7);
  }

  @Test
  void quickstartRefusesANonEmptyDirectory() throws Exception {
    Path dir = tmp.resolve("qs");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("something"), "x");
    JsonNode failed = error(snapstash("--json", "quickstart", "--dir", dir.toString()), "PRECONDITION", 7);
    assertThat(failed.path("error").path("message").asText()).contains("is not empty");
  }

  @Test
  void sandbox() {
    Scenario.Run running = snapstash("--json", "sandbox", "status", "--dir", s.dir.toString());
    assertThat(running.exit()).as(running.err()).isZero();
    assertThat(running.json().path("running").asBoolean()).isTrue();
    assertThat(running.json().path("url").asText()).isEqualTo(s.sandbox.baseUrl());

    // Not running is an answer, not an error: the status, and exit status 7.
    Scenario.Run none = snapstash("--json", "sandbox", "status", "--dir", tmp.resolve("none").toString());
    assertThat(none.exit()).isEqualTo(7);
    assertThat(none.json().path("running").asBoolean()).isFalse();

    error(snapstash("--json", "sandbox", "stop", "--dir", tmp.resolve("none").toString()), "PRECONDITION", 7);
    error(snapstash("--json", "sandbox", "start", "--dir", tmp.resolve("other").toString(), "--port",
        Integer.toString(s.sandbox.port())), "PRECONDITION", 7);
  }
}
