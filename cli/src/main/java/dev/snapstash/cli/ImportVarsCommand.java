package dev.snapstash.cli;

import dev.snapstash.core.config.diy.ImportVars;
import dev.snapstash.core.config.diy.VarsConverter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "import-vars",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
      "Convert a DIY backup vars file (bitbucket.diy-backup.vars.sh, or the Stash era's) into a snapstash.yml.",
      "The file is read, never run. Passwords and tokens become ${env:NAME} references to variables of the same"
          + " name; their values are not copied. Every variable is reported as converted, ignored or unsupported,"
          + " with the reason, on standard error (the configuration goes to standard output unless --output)."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  snapstash import-vars bitbucket.diy-backup.vars.sh",
      "  snapstash import-vars stash.diy-aws-backup.vars.sh -o snapstash.yml"
    })
final class ImportVarsCommand extends Verb {
  @Parameters(paramLabel = "FILE", description = "The vars file.")
  Path file;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write the configuration here instead of printing it.")
  Path output;

  @Option(names = "--force", description = "Overwrite --output if it exists.")
  boolean force;

  @Override
  public Integer call() {
    VarsConverter.Conversion c = ImportVars.convert(file);
    if (output != null) {
      ImportVars.write(c.yaml(), output, force);
    }
    StringBuilder report = new StringBuilder();
    for (VarsConverter.Verdict v : c.verdicts()) {
      report.append(String.format(Locale.ROOT, "%-12s %-40s %s%n", v.status().name().toLowerCase(Locale.ROOT), v.name() + ":" + v.line(), v.why()));
    }
    for (String u : c.unreadable()) {
      report.append(String.format(Locale.ROOT, "%-12s %-40s %s%n", "not read", "line " + u, "not an assignment (commands are never run)"));
    }
    report.append(String.format(Locale.ROOT, "%d converted, %d ignored, %d unsupported%s%n",
        c.count(VarsConverter.Status.CONVERTED), c.count(VarsConverter.Status.IGNORED), c.count(VarsConverter.Status.UNSUPPORTED),
        output != null ? "; written to " + output + " (run `snapstash -c " + output + " check` next)" : ""));
    if (json()) {
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("yaml", c.yaml());
      result.put("verdicts", c.verdicts());
      result.put("unreadable", c.unreadable());
      print(result, "");
      return ExitCodes.OK;
    }
    if (output == null) {
      out().print(c.yaml());
      out().flush();
    }
    spec.commandLine().getErr().print(report);
    spec.commandLine().getErr().flush();
    return ExitCodes.OK;
  }
}
