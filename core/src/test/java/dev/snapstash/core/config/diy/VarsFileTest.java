package dev.snapstash.core.config.diy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The vars-file reader: shell quoting and references as bash reads them, and nothing ever run. */
class VarsFileTest {
  @Provide
  Arbitrary<String> values() {
    return Arbitraries.strings().withCharRange(' ', '~').withChars('é', '\t').ofMaxLength(40);
  }

  @Provide
  Arbitrary<String> names() {
    return Arbitraries.strings().withCharRange('A', 'Z').withChars('_').ofMinLength(1).ofMaxLength(12);
  }

  private static String value(String text, String name) {
    return VarsFile.parse(text).variables().get(name).value();
  }

  /** 'it'\''s': the shell's one way to quote anything, the quote itself by leaving the quotes. */
  @Property
  void singleQuotingKeepsAnyValueExactly(@ForAll("names") String name, @ForAll("values") String v) {
    String quoted = "'" + v.replace("'", "'\\''") + "'";
    assertThat(value(name + "=" + quoted, name)).isEqualTo(v);
    assertThat(value("export " + name + "=" + quoted + "  # a comment", name)).isEqualTo(v);
  }

  @Property
  void doubleQuotingWithEscapesKeepsAnyValueExactly(@ForAll("names") String name, @ForAll("values") String v) {
    String quoted = "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("$", "\\$").replace("`", "\\`") + "\"";
    VarsFile.Variable var = VarsFile.parse(name + "=" + quoted).variables().get(name);
    assertThat(var.value()).isEqualTo(v);
    assertThat(var.computed()).isFalse();
  }

  /** A reference to an earlier variable, in any of its spellings, gives that variable's value. */
  @Property
  void referencesExpandToTheEarlierValue(@ForAll("names") String a, @ForAll("values") String v) {
    String b = a + "_B";
    String quoted = "'" + v.replace("'", "'\\''") + "'";
    String file = a + "=" + quoted + "\n" + b + "=\"${" + a + "}/x\"\nC_" + a + "=\"$" + a + "\"\nD_" + a + "=${" + a + ":-unused}";
    assertThat(value(file, b)).isEqualTo(v + "/x");
    assertThat(value(file, "C_" + a)).isEqualTo(v);
    assertThat(value(file, "D_" + a)).isEqualTo(v.isEmpty() ? "unused" : v);
  }

  /** Total: any text reads without an exception, and every variable it reports was assigned in it. */
  @Property
  void anyTextReads(@ForAll String text) {
    VarsFile.Result r = VarsFile.parse(text);
    assertThat(r.variables().keySet()).allMatch(text::contains);
  }

  @Property
  void theLastActiveAssignmentWins(@ForAll("names") String name, @ForAll("values") String v1, @ForAll("values") String v2) {
    String q1 = "'" + v1.replace("'", "'\\''") + "'";
    String q2 = "'" + v2.replace("'", "'\\''") + "'";
    assertThat(value(name + "=" + q1 + "\n" + name + "=" + q2 + "\n", name)).isEqualTo(v2);
  }

  @Example
  void commandSubstitutionsAreNeverRun() throws Exception {
    Path marker = Files.createTempFile("vars-file-test", ".marker");
    Files.delete(marker);
    VarsFile.Result r = VarsFile.parse(
        "A=$(touch " + marker + ")\nB=`touch " + marker + "`\nC=\"prefix-$(touch " + marker + ")\"\ntouch " + marker + "\n");
    assertThat(marker).doesNotExist();
    assertThat(r.variables().get("A").computed()).isTrue();
    assertThat(r.variables().get("B").computed()).isTrue();
    assertThat(r.variables().get("C").value()).isEqualTo("prefix-");
    assertThat(r.unreadable()).containsExactly("4: touch");
  }

  @Example
  void onlyTheMatchingCaseBranchCounts() {
    String text = String.join("\n",
        "TYPE=rsync",
        "case ${TYPE} in",
        "    amazon-ebs)",
        "        HOME_DIRECTORY_MOUNT_POINT=/media/atl",
        "        ;;",
        "    rsync|local)",
        "        BITBUCKET_HOME=/var/bb/",
        "        ;;",
        "    *)",
        "        FALLBACK=yes",
        "        ;;",
        "esac",
        "AFTER=${BITBUCKET_HOME}x");
    Map<String, VarsFile.Variable> v = VarsFile.parse(text).variables();
    assertThat(v.get("BITBUCKET_HOME").active()).isTrue();
    assertThat(v.get("HOME_DIRECTORY_MOUNT_POINT").inactiveBranch()).contains("amazon-ebs").contains("${TYPE} is 'rsync'");
    assertThat(v.get("FALLBACK").inactiveBranch()).as("the shell takes the first match only").contains("earlier branch");
    assertThat(v.get("AFTER").value()).isEqualTo("/var/bb/x");
  }

  @Example
  void arraysUndefinedReferencesAndIfBodies() {
    String text = String.join("\n",
        "EBS=(/media/atl:/dev/xvdf \"/media/data store:/dev/xvdg\")",
        "if [ \"${X}\" != \"true\" ]; then",
        "    USER=admin",
        "fi",
        "URL=http://$HOST:7990");
    Map<String, VarsFile.Variable> v = VarsFile.parse(text).variables();
    assertThat(v.get("EBS").elements()).containsExactly("/media/atl:/dev/xvdf", "/media/data store:/dev/xvdg");
    assertThat(v.get("USER").value()).isEqualTo("admin");
    assertThat(v.get("URL").value()).isEqualTo("http://:7990");
    assertThat(v.get("URL").undefined()).containsExactly("HOST");
  }

  @Example
  void globs() {
    assertThat(VarsFile.glob("*", "")).isTrue();
    assertThat(VarsFile.glob("postgresql*", "postgresql-fslevel")).isTrue();
    assertThat(VarsFile.glob("a.b", "axb")).isFalse();
    assertThat(List.of()).isEmpty();
  }
}
