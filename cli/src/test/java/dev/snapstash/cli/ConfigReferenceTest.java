package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.ConfigReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The committed {@code docs/configuration.md} against the keys as the shipped jar sees them: here, where the
 * classpath holds every module's providers (core's, and the aws module's {@code s3}), as the CLI's shaded jar does.
 */
class ConfigReferenceTest {
  /** Tests run in the module directory; the reference lives at the repository root. */
  private static final Path COMMITTED = Path.of("..").resolve(ConfigReference.FILE);

  @Test
  void committedReferenceIsUpToDate() throws Exception {
    String generated = ConfigReference.markdown();
    if (Boolean.getBoolean("snapstash.regenerateDocs")) {
      Files.createDirectories(COMMITTED.getParent());
      Files.writeString(COMMITTED, generated, StandardCharsets.UTF_8);
    }
    String committed = Files.exists(COMMITTED) ? Files.readString(COMMITTED, StandardCharsets.UTF_8) : "";
    assertThat(committed)
        .as(
            ConfigReference.FILE
                + " is out of date with the @Key annotations; regenerate it with mvn -o -pl cli -am test"
                + " -Dtest=ConfigReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -DskipITs"
                + " -Dsnapstash.regenerateDocs=true")
        .isEqualTo(generated);
  }

  @Test
  void theAwsModulesStrategiesAreDocumented() {
    assertThat(ConfigReference.markdown()).contains("### `archive[].bucket`").contains("- `s3`: ");
  }
}
