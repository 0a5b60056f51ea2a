package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code --version} names the version, the commit the build recorded, and the Java runtime. */
class VersionTest {
  @Test
  void theVersionNamesTheCommitOfTheCheckoutItWasBuiltFromAndTheJavaRuntime() {
    // These tests run in the checkout the build ran in (a worktree's .git is a file, a clone's a directory).
    assertThat(Path.of("..", ".git")).exists();
    String head = new ProcessRunner().run(Command.of("git", "-C", "..", "rev-parse", "HEAD").capturingStdout()).stdout().strip();

    HelpTest.Run r = HelpTest.snapstash("--version");
    assertThat(r.exit()).isZero();
    String[] lines = r.out().split("\n");
    assertThat(lines[0]).matches("snapstash \\S+ \\(commit [0-9a-f]{7,40}\\)");
    String commit = lines[0].replaceAll(".*\\(commit ([0-9a-f]+)\\)", "$1");
    assertThat(head).as("the commit is HEAD's, abbreviated").startsWith(commit);
    assertThat(lines[1]).startsWith("Java " + System.getProperty("java.version") + " (");
  }
}
