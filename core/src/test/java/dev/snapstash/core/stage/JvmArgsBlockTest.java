package dev.snapstash.core.stage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JvmArgsBlockTest {
  private static final String PW = "AbCdEfGhIjKlMnOpQrStUvWx";

  /** The shape of Bitbucket's _start-webapp.sh: the variable commented out, then used further down. */
  private static final String START_WEBAPP = """
      #!/usr/bin/env bash
      # Occasionally Atlassian Support may recommend that you set some specific JVM arguments.
      #
      #JVM_SUPPORT_RECOMMENDED_ARGS=""
      JVM_MINIMUM_MEMORY="512m"
      JAVA_OPTS="$JAVA_OPTS $JVM_SUPPORT_RECOMMENDED_ARGS"
      exec java $JAVA_OPTS
      """;

  @TempDir Path tmp;

  @Test
  void goesRightAfterTheCommentedAssignmentSoItComesBeforeTheVariableIsUsed() {
    String out = JvmArgsBlock.apply(START_WEBAPP, PW);
    int block = out.indexOf(JvmArgsBlock.BEGIN);
    assertThat(block).isGreaterThan(out.indexOf("#JVM_SUPPORT_RECOMMENDED_ARGS=\"\"")).isLessThan(out.indexOf("JAVA_OPTS="));
    assertThat(out).contains("JVM_SUPPORT_RECOMMENDED_ARGS=\"${JVM_SUPPORT_RECOMMENDED_ARGS} -Datlassian.recovery.password="
        + PW + "\"\n" + JvmArgsBlock.END + "\n");
  }

  @Test
  void goesAfterTheLastLiveAssignmentAndKeepsItsValue() {
    String text = "#JVM_SUPPORT_RECOMMENDED_ARGS=\"\"\nJVM_SUPPORT_RECOMMENDED_ARGS=\"-Dfoo=1\"\nUSE=\"$JVM_SUPPORT_RECOMMENDED_ARGS\"\n";
    String out = JvmArgsBlock.apply(text, PW);
    assertThat(out.indexOf(JvmArgsBlock.BEGIN)).isGreaterThan(out.indexOf("-Dfoo=1")).isLessThan(out.indexOf("USE="));
  }

  @Test
  void aSetenvFileWithoutTheVariableGetsItAtTheEnd() {
    String out = JvmArgsBlock.apply("export JAVA_HOME=/opt/java\n", PW);
    assertThat(out).startsWith("export JAVA_HOME=/opt/java\n" + JvmArgsBlock.BEGIN).endsWith(JvmArgsBlock.END + "\n");
    assertThat(JvmArgsBlock.apply("", PW)).startsWith(JvmArgsBlock.BEGIN);
  }

  @Test
  void writingAgainReplacesTheBlockAndRemovingItGivesTheFileBack() {
    String once = JvmArgsBlock.apply(START_WEBAPP, PW);
    assertThat(JvmArgsBlock.apply(once, PW)).isEqualTo(once);
    String other = JvmArgsBlock.apply(once, "ZyXwVuTsRqPoNmLkJiHgFeDc");
    assertThat(other).doesNotContain(PW).contains("ZyXwVuTsRqPoNmLkJiHgFeDc");
    assertThat(other.split(JvmArgsBlock.BEGIN, -1)).hasSize(2);
    assertThat(JvmArgsBlock.without(other)).isEqualTo(START_WEBAPP);
  }

  @Test
  void aNewFileIsPrivateAndAnExistingOneKeepsItsMode() throws Exception {
    Path pw = Files.writeString(tmp.resolve("stage-recovery-password"), PW + "\n");
    Path fresh = tmp.resolve("install/bin/_start-webapp.sh");
    JvmArgsBlock.write(fresh, pw);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh))).isEqualTo("rw-------");
    assertThat(Files.readString(fresh)).contains("-Datlassian.recovery.password=" + PW + "\"");

    Path existing = Files.writeString(tmp.resolve("_start-webapp.sh"), START_WEBAPP);
    Files.setPosixFilePermissions(existing, PosixFilePermissions.fromString("rwxr-x---"));
    JvmArgsBlock.write(existing, pw);
    JvmArgsBlock.write(existing, pw);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(existing))).isEqualTo("rwxr-x---");
    assertThat(Files.readString(existing)).isEqualTo(JvmArgsBlock.apply(START_WEBAPP, PW));
    try (var files = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".snapstash-jvm-args"));
    }
  }
}
