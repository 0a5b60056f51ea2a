package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StartEnvironmentTest {
  @TempDir Path tmp;

  private String recovery(String text, String env) throws Exception {
    Path f = Files.writeString(tmp.resolve("_start-webapp.sh"), text);
    return StartEnvironment.recoveryPassword(f, env);
  }

  @Test
  void atlassiansOwnExampleLine() throws Exception {
    assertThat(recovery("#\nJVM_SUPPORT_RECOMMENDED_ARGS=-Datlassian.recovery.password=temporarypassword\n", null))
        .isEqualTo("temporarypassword");
  }

  @Test
  void snapstashsBlockAppendsToWhatWasThere() throws Exception {
    String text = "JVM_SUPPORT_RECOMMENDED_ARGS=\"-Dfoo=1\"\n"
        + "JVM_SUPPORT_RECOMMENDED_ARGS=\"${JVM_SUPPORT_RECOMMENDED_ARGS} -Datlassian.recovery.password=AbC-d_1\"\n";
    assertThat(StartEnvironment.jvmArgs(Files.writeString(tmp.resolve("f"), text), null))
        .isEqualTo("-Dfoo=1 -Datlassian.recovery.password=AbC-d_1");
    assertThat(recovery(text, null)).isEqualTo("AbC-d_1");
  }

  @Test
  void commentedBlankOrMissingMeansNoRecovery() throws Exception {
    assertThat(recovery("#JVM_SUPPORT_RECOMMENDED_ARGS=-Datlassian.recovery.password=x\n", null)).isNull();
    assertThat(recovery("JVM_SUPPORT_RECOMMENDED_ARGS=\"-Datlassian.recovery.password=\"\n", null)).isNull();
    assertThat(StartEnvironment.recoveryPassword(tmp.resolve("absent.sh"), null)).isNull();
  }

  @Test
  void theEnvironmentCountsUntilTheFileOverridesIt() throws Exception {
    assertThat(recovery("", "-Datlassian.recovery.password=fromenv")).isEqualTo("fromenv");
    assertThat(recovery("JVM_SUPPORT_RECOMMENDED_ARGS=\"\"\n", "-Datlassian.recovery.password=fromenv")).isNull();
    assertThat(recovery("JVM_SUPPORT_RECOMMENDED_ARGS=\"$JVM_SUPPORT_RECOMMENDED_ARGS -Dx=1\" # kept\n",
        "-Datlassian.recovery.password=fromenv")).isEqualTo("fromenv");
  }

  @Test
  void theLastOneWinsAsOnAJavaCommandLine() throws Exception {
    assertThat(recovery("JVM_SUPPORT_RECOMMENDED_ARGS='-Datlassian.recovery.password=a -Datlassian.recovery.password=b'\n",
        null)).isEqualTo("b");
  }
}
