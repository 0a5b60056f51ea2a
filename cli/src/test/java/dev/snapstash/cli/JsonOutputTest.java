package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.util.Json;
import dev.snapstash.core.engine.RunGuard;
import dev.snapstash.core.spi.Undo;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With --json, stdout holds one JSON document whatever happens: the result, or {"error": {kind, message,
 * exitCode}} beside the one sentence on stderr. The verbs that need an instance are covered in e2e.JsonOutputIT.
 */
class JsonOutputTest {
  @TempDir Path tmp;

  static JsonNode json(HelpTest.Run r) {
    try {
      return Json.MAPPER.readTree(r.out());
    } catch (Exception e) {
      throw new AssertionError("stdout is not one JSON document: " + r.out() + "\nstderr: " + r.err(), e);
    }
  }

  static void assertError(HelpTest.Run r, String kind, int exitCode) {
    assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(exitCode);
    JsonNode error = json(r).path("error");
    assertThat(error.path("kind").asText()).isEqualTo(kind);
    assertThat(error.path("exitCode").asInt()).isEqualTo(exitCode);
    String sentence = r.err().lines().findFirst().orElseThrow();
    assertThat(sentence).startsWith("snapstash: ");
    assertThat(error.path("message").asText()).isEqualTo(sentence.substring("snapstash: ".length()));
  }

  private Path config() throws Exception {
    Path c = tmp.resolve("snapstash.yml");
    Files.writeString(
        c, "instance:\n  name: bb\n  home: " + tmp.resolve("home") + "\nbackup:\n  root: " + tmp.resolve("backups") + "\n");
    return c;
  }

  @Test
  void aConfigurationErrorIsAnErrorObject() {
    String missing = tmp.resolve("missing.yml").toString();
    assertError(HelpTest.snapstash("--json", "-c", missing, "list"), "CONFIG", 3);
    // --json is global: after the verb it means the same.
    assertError(HelpTest.snapstash("list", "-c", missing, "--json"), "CONFIG", 3);
    HelpTest.Run text = HelpTest.snapstash("-c", missing, "list");
    assertThat(text.exit()).isEqualTo(3);
    assertThat(text.out()).as("without --json nothing goes to stdout").isEmpty();
  }

  @Test
  void aUsageErrorIsAnErrorObject() {
    HelpTest.Run r = HelpTest.snapstash("--json", "backup", "--no-such-option");
    assertThat(r.exit()).isEqualTo(2);
    JsonNode error = json(r).path("error");
    assertThat(error.path("kind").asText()).isEqualTo("USAGE");
    assertThat(error.path("exitCode").asInt()).isEqualTo(2);
    assertThat(error.path("message").asText()).contains("Unknown option: '--no-such-option'");
    assertThat(r.err()).contains("Unknown option");
  }

  /** The bug: a successful recover with --json failed on an Optional and exited 1. */
  @Test
  void recoverWithNothingToRecover() throws Exception {
    HelpTest.Run r = HelpTest.snapstash("--json", "-c", config().toString(), "recover");
    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    JsonNode j = json(r);
    assertThat(j.path("tag").isNull()).isTrue();
    assertThat(j.path("undone").isArray()).isTrue();
    assertThat(j.path("undone").size()).isZero();
    assertThat(j.path("failed").size()).isZero();
  }

  @Test
  void recoverOfADeadRun() throws Exception {
    Path config = config();
    Path backups = tmp.resolve("backups");
    String tag = "bb-20260101-000000";
    Path partial = backups.resolve(tag);
    Files.createDirectories(partial.resolve("home"));
    // What a run killed after starting its backup directory leaves: its journal, never finished.
    try (Journal j = Journal.begin(backups, "backup", tag)) {
      j.add(new dev.snapstash.core.engine.RemovePartialBackup(tag, partial));
    }
    HelpTest.Run r = HelpTest.snapstash("--json", "-c", config.toString(), "recover");
    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    JsonNode j = json(r);
    assertThat(j.path("tag").asText()).isEqualTo(tag);
    assertThat(j.path("undone").get(0).asText()).isEqualTo("remove the partial backup " + tag);
    assertThat(partial).doesNotExist();
  }

  @Test
  void recoverWhileAnotherRunHoldsTheRootIsAnErrorObject() throws Exception {
    Path config = config();
    try (RunGuard held = RunGuard.acquire(tmp.resolve("backups"), "backup")) {
      assertError(HelpTest.snapstash("--json", "-c", config.toString(), "recover"), "BUSY", 10);
    }
  }
}
