package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.ConfigLoader;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code snapstash import-vars}: the configuration on standard output or in --output, the report on standard error. */
class ImportVarsCommandTest {
  @TempDir Path tmp;

  private Path example(String name) throws Exception {
    Path file = tmp.resolve(name);
    try (InputStream in = ImportVarsCommandTest.class.getResourceAsStream("/diy/" + name)) {
      Files.write(file, in.readAllBytes());
    }
    return file;
  }

  @Test
  void printsTheConfigurationAndReportsEveryVariable() throws Exception {
    HelpTest.Run r = HelpTest.snapstash("import-vars", example("bitbucket.diy-backup.vars.sh.example").toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).startsWith("# snapstash configuration converted by `snapstash import-vars`").contains("base-url: 'http://localhost:7990'");
    assertThat(r.err()).contains("converted   ").contains("BITBUCKET_URL:").contains("unsupported ").contains("ignored     ")
        .containsPattern("[0-9]+ converted, [0-9]+ ignored, [0-9]+ unsupported");
    ConfigLoader.parse(r.out(), "stdout", tmp, Map.of());
  }

  @Test
  void writesOutputAndRefusesToOverwriteWithoutForce() throws Exception {
    Path vars = example("stash.diy-aws-backup.vars.sh");
    Path out = tmp.resolve("snapstash.yml");
    HelpTest.Run first = HelpTest.snapstash("import-vars", vars.toString(), "--output", out.toString());
    assertThat(first.exit()).as(first.err()).isZero();
    assertThat(first.out()).isEmpty();
    assertThat(first.err()).contains("written to " + out);
    ConfigLoader.load(out, Map.of());
    assertThat(Files.readString(out)).doesNotContain("p@ss w0rd").doesNotContain("hc-token");

    Files.writeString(out, "keep me\n");
    HelpTest.Run again = HelpTest.snapstash("import-vars", vars.toString(), "--output", out.toString());
    assertThat(again.exit()).isEqualTo(7);
    assertThat(again.err()).contains(out + " already exists; add --force").doesNotContain("Exception");
    assertThat(Files.readString(out)).isEqualTo("keep me\n");

    HelpTest.Run forced = HelpTest.snapstash("import-vars", vars.toString(), "--output", out.toString(), "--force");
    assertThat(forced.exit()).as(forced.err()).isZero();
    assertThat(Files.readString(out)).contains("name: 'stash'");
  }

  @Test
  void jsonIsOneObjectWithTheConfigurationAndTheVerdicts() throws Exception {
    HelpTest.Run r = HelpTest.snapstash("--json", "import-vars", example("bitbucket.diy-backup.vars.sh.example-aws").toString());
    assertThat(r.exit()).as(r.err()).isZero();
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
    assertThat(json.get("yaml").asText()).contains("instance:");
    assertThat(json.get("verdicts")).isNotEmpty();
    assertThat(json.get("verdicts").get(0).get("status").asText()).isIn("CONVERTED", "IGNORED", "UNSUPPORTED");
  }

  @Test
  void aMissingFileIsOneSentence() {
    HelpTest.Run r = HelpTest.snapstash("import-vars", tmp.resolve("nope.sh").toString());
    assertThat(r.exit()).isEqualTo(7);
    assertThat(r.err().strip()).contains("cannot read the vars file").doesNotContain("\tat ");
  }
}
