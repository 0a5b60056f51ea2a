package dev.snapstash.cli;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.spi.Findings;
import picocli.CommandLine.Command;

@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description =
        "Preflight only: configuration, tools and versions, credentials, lock permission, free space. Lists every"
            + " problem, changes nothing.",
    footerHeading = "%nExamples:%n",
    footer = {
      "  snapstash check",
      "  snapstash -c /etc/snapstash/snapstash.yml --json check"
    })
final class CheckCommand extends Verb {
  @Override
  public Integer call() {
    Findings findings = snapstash().check();
    StringBuilder sb = new StringBuilder();
    for (Findings.Finding f : findings.all()) {
      sb.append(f.problem() ? "FAIL  " : f.warning() ? "WARN  " : "ok    ").append(f.subject()).append(": ").append(f.message()).append('\n');
    }
    print(findings.all(), sb.toString());
    Snapstash.failure(findings).ifPresent(e -> {
      throw e;
    });
    return ExitCodes.OK;
  }
}
