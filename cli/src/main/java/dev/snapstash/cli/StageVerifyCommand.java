package dev.snapstash.cli;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.stage.StageVerifier;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    footerHeading = "%nExamples:%n",
    footer = {"  snapstash stage verify --staging staging.yml", "  snapstash --json stage verify --staging staging.yml"},
    description = {
      "Check the running staging instance of --staging through its REST API, as the staging KB's post-start checks"
          + " ask: it answers at instance.base-url and its links use that base URL; no mail server, or"
          + " stage.mail-sink; the licence of stage.license-file when set; no mirror; and the staging home names"
          + " the staging database. Logs in with instance.username and instance.password of the staging file.",
      "Prints each check with what was seen. Exit code 11 when a check fails, naming it. See docs/staging.md."
    })
final class StageVerifyCommand extends Verb {
  @Option(
      names = "--staging",
      required = true,
      paramLabel = "FILE",
      description = "The staging instance's configuration. SNAPSTASH_* environment overrides do not apply to it.")
  Path staging;

  @Override
  public Integer call() {
    // As for stage: overrides name keys, not files, and one meant for production must not reach the staging file.
    Map<String, String> env =
        System.getenv().entrySet().stream()
            .filter(e -> !e.getKey().startsWith("SNAPSTASH_"))
            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    SnapstashConfig config = ConfigLoader.load(staging, env);
    Snapstash snapstash =
        Snapstash.configure(config).runner(new ProcessRunner()).version(Version.get()).build();
    StageVerifier.Verification v = snapstash.verifyStage(staging.toString());
    print(v, v.text());
    if (!v.ok()) {
      throw new SnapstashException(ErrorKind.VERIFICATION,
          "the staging instance at " + v.baseUrl() + " failed " + String.join(", ", v.failed())
              + " (see each check above)");
    }
    return ExitCodes.OK;
  }
}
