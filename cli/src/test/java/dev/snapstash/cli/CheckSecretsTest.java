package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckSecretsTest {
  @TempDir Path tmp;

  /**
   * `check` "lists every problem" and docs/configuration.md says the secret is read "by snapstash check"; the
   * database and notify secrets are reported as findings, but an unset instance.password aborts check before any
   * finding is printed, and the error names neither the key nor anything else check would have found.
   */
  @Test
  void checkReportsAnUnreadableInstancePasswordAsAFindingNamingTheKey() throws Exception {
    String unset = "R6_SURELY_UNSET_BB_PASSWORD";
    assertThat(System.getenv(unset)).isNull();
    Files.createDirectories(tmp.resolve("home"));
    Files.createDirectories(tmp.resolve("backups"));
    Path config = tmp.resolve("snapstash.yml");
    Files.writeString(
        config,
        "instance:\n"
            + "  name: prod\n"
            + "  home: " + tmp.resolve("home") + "\n"
            + "  base-url: http://127.0.0.1:1\n"
            + "  username: admin\n"
            + "  password: ${env:" + unset + "}\n"
            + "backup:\n"
            + "  root: " + tmp.resolve("backups") + "\n"
            + "disk:\n"
            + "  type: none\n");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        Main.execute(
            new String[] {"-c", config.toString(), "check"}, false, new PrintWriter(out, true), new PrintWriter(err, true));
    assertThat(code).isNotZero();
    assertThat(out.toString())
        .as("check lists every problem, the unreadable password among them (stderr: %s)", err)
        .contains("FAIL")
        .contains("instance.password")
        .contains("backup.root");
    assertThat(err.toString()).contains("instance.password");
  }
}
