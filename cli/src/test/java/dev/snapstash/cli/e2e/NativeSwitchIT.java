package dev.snapstash.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.util.Json;
import dev.snapstash.sandbox.DbKind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native switch as an operator meets it, on the real jar (each JVM decides its SHA-256 once, so each case is a
 * process of its own): {@code check} names the path each fast path takes and why, with the switch and without,
 * and a mistyped value is a configuration error naming the variable or property.
 */
class NativeSwitchIT {
  @TempDir static Path tmp;

  private static Scenario s;
  private static final ProcessRunner RUNNER = new ProcessRunner();

  @BeforeAll
  static void sandbox() {
    s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null);
  }

  @AfterAll
  static void stop() {
    if (s != null) {
      s.close();
    }
  }

  @Test
  void byDefaultCheckShowsEachNativePathAndWhatItRestsOn() {
    ProcessResult r = jar(List.of("-Dsnapstash.native=auto"), Map.of(), "check");
    assertThat(r.exitCode()).as(r.stdout() + r.stderrTail()).isZero();
    assertThat(r.stdout())
        .containsPattern("ok    inotify: native \\(inotify_init1 and inotify_add_watch through JNA; "
            + "fs.inotify.max_user_watches \\d+, the home has \\d+ directories\\)")
        .contains("ok    listing: native (open, readdir and statx through JNA)")
        .containsPattern("ok    sha256: native \\(libcrypto\\.so\\.[0-9.]+ through JNA\\)");
  }

  @Test
  void thePropertyOffShowsEveryFallbackAndNamesIt() {
    ProcessResult r = jar(List.of("-Dsnapstash.native=off"), Map.of(), "check");
    assertThat(r.exitCode()).as(r.stdout() + r.stderrTail()).isZero();
    assertThat(r.stdout())
        .containsPattern("ok    inotify: JDK WatchService \\(-Dsnapstash.native=off; fs.inotify.max_user_watches \\d+,"
            + " the home has \\d+ directories\\)")
        .contains("ok    listing: java.nio (-Dsnapstash.native=off)")
        .contains("ok    sha256: JDK MessageDigest (-Dsnapstash.native=off)");
  }

  /** The variable, as an administrator sets it, and the same findings in --json, beside the others. */
  @Test
  void theVariableOffDoesTheSameAndJsonCarriesIt() {
    ProcessResult r = jar(List.of(), Map.of("SNAPSTASH_NATIVE", "off"), "--json", "check");
    assertThat(r.exitCode()).as(r.stdout() + r.stderrTail()).isZero();
    Map<String, JsonNode> bySubject = new HashMap<>();
    for (JsonNode f : json(r.stdout())) {
      bySubject.put(f.get("subject").asText(), f);
    }
    assertThat(bySubject).containsKeys("rsync", "instance.home", "inotify", "listing", "sha256");
    assertThat(bySubject.get("sha256").get("message").asText()).isEqualTo("JDK MessageDigest (SNAPSTASH_NATIVE=off)");
    assertThat(bySubject.get("listing").get("message").asText()).isEqualTo("java.nio (SNAPSTASH_NATIVE=off)");
    assertThat(bySubject.get("inotify").get("message").asText()).startsWith("JDK WatchService (SNAPSTASH_NATIVE=off; ");
    assertThat(bySubject.get("inotify").get("problem").asBoolean()).isFalse();
  }

  /** A backup with natives off: it runs, tracks the home through the fallbacks, and its checksums verify. */
  @Test
  void aBackupWithTheSwitchOffTracksThroughTheFallbacksAndVerifies() {
    ProcessResult backup = jar(List.of("-Dsnapstash.native=off"), Map.of(), "--json", "backup");
    assertThat(backup.exitCode()).as(backup.stdout() + backup.stderrTail()).isZero();
    JsonNode manifest = json(backup.stdout());
    assertThat(manifest.at("/home/details/delta").asText()).as(manifest.toString()).startsWith("tracked");
    String tag = manifest.get("tag").asText();
    ProcessResult verify = jar(List.of("-Dsnapstash.native=auto"), Map.of(), "verify", tag);
    assertThat(verify.exitCode()).as(verify.stdout() + verify.stderrTail()).isZero();
  }

  @Test
  void aMistypedValueIsAConfigurationErrorNamingWhereItIsSet() {
    ProcessResult env = jar(List.of(), Map.of("SNAPSTASH_NATIVE", "fast"), "check");
    assertThat(env.exitCode()).isEqualTo(3);
    assertThat(env.stderrTail())
        .contains("SNAPSTASH_NATIVE=fast is not a valid value: set SNAPSTASH_NATIVE to auto")
        .doesNotContain("Exception");
    ProcessResult property = jar(List.of("-Dsnapstash.native=of"), Map.of(), "--json", "list");
    assertThat(property.exitCode()).isEqualTo(3);
    assertThat(json(property.stdout()).get("error").get("message").asText())
        .startsWith("-Dsnapstash.native=of is not a valid value: set -Dsnapstash.native to auto");
    // Help needs no switch: it still answers.
    assertThat(jar(List.of(), Map.of("SNAPSTASH_NATIVE", "fast"), "check", "--help").exitCode()).isZero();
  }

  /** {@code java OPTIONS -jar target/snapstash.jar -c CONFIG ARGS}, with {@code env} added to this environment. */
  private static ProcessResult jar(List<String> jvmOptions, Map<String, String> env, String... args) {
    Path jar = Path.of("target/snapstash.jar");
    assertThat(jar).as("the shaded jar (built by package)").exists();
    List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    argv.addAll(jvmOptions);
    argv.addAll(List.of("-jar", jar.toString(), "-c", s.config().toString()));
    argv.addAll(List.of(args));
    Command c = Command.of(argv).capturingStdout();
    for (var e : env.entrySet()) {
      c = c.withEnv(e.getKey(), e.getValue());
    }
    return RUNNER.runAllowingFailure(c, line -> {});
  }

  private static JsonNode json(String out) {
    try {
      return Json.MAPPER.readTree(out);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + out, e);
    }
  }
}
