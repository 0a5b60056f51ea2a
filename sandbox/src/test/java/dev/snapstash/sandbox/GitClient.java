package dev.snapstash.sandbox;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessResult;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/** The git CLI as a sandbox user: credentials through the environment, never on the command line. */
final class GitClient {
  private final ProcessRunner runner = new ProcessRunner();
  private final String user;
  private final String password;
  private final Path caFile;

  GitClient(String user, String password) {
    this(user, password, null);
  }

  /** Trusting {@code caFile} (a TLS sandbox's certificate) when not null. */
  GitClient(String user, String password, Path caFile) {
    this.user = user;
    this.password = password;
    this.caFile = caFile;
  }

  Command git(Path dir, String... args) {
    String auth = "Authorization: Basic "
        + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    Command c = Command.of(List.of(args)).withTimeout(Duration.ofMinutes(2))
        .withEnv("GIT_TERMINAL_PROMPT", "0")
        .withEnv("GIT_CONFIG_NOSYSTEM", "1")
        .withEnv("GIT_CONFIG_GLOBAL", "/dev/null")
        .withEnv("GIT_CONFIG_COUNT", "3")
        .withSecretEnv("GIT_CONFIG_VALUE_0", auth)
        .withEnv("GIT_CONFIG_KEY_0", "http.extraHeader")
        .withEnv("GIT_CONFIG_KEY_1", "user.name")
        .withEnv("GIT_CONFIG_VALUE_1", "Test User")
        .withEnv("GIT_CONFIG_KEY_2", "user.email")
        .withEnv("GIT_CONFIG_VALUE_2", "test@example.com");
    if (caFile != null) {
      // The environment's GIT_SSL_CAINFO, where a host sets one, wins over http.sslCAInfo: set the variable.
      c = c.withEnv("GIT_SSL_CAINFO", caFile.toString());
    }
    Command full = Command.of("git").plus(c.argv());
    full = new Command(full.argv(), c.environment(), dir, c.timeout(), Command.Output.CAPTURE, null, null,
        java.util.Set.of(0), c.secrets());
    return full;
  }

  ProcessResult run(Path dir, String... args) {
    return runner.run(git(dir, args));
  }

  ProcessResult tryRun(Path dir, String... args) {
    return runner.runAllowingFailure(git(dir, args), l -> {});
  }
}
