package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every verb answers --help (and -h) with its usage and examples, and the help promises only what exists. */
class HelpTest {
  record Run(int exit, String out, String err) {}

  static Run snapstash(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, false, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  /** Every command below the root, as the words that name it: [backup], [sandbox, start], … */
  private static List<List<String>> verbs(CommandLine cl, List<String> prefix) {
    List<List<String>> all = new ArrayList<>();
    for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
      if (e.getValue().getCommandSpec().userObject() instanceof CommandLine.HelpCommand) {
        continue;
      }
      List<String> path = new ArrayList<>(prefix);
      path.add(e.getKey());
      all.add(path);
      all.addAll(verbs(e.getValue(), path));
    }
    return all;
  }

  @Test
  void everyVerbHasHelpWithExamples() {
    List<List<String>> verbs = verbs(Main.commandLine(), List.of());
    assertThat(verbs).extracting(v -> String.join(" ", v))
        .contains("backup", "restore", "verify", "list", "prune", "recover", "check", "quickstart", "sandbox",
            "sandbox start", "sandbox stop", "sandbox status", "sandbox load");
    for (List<String> verb : verbs) {
      for (String option : List.of("--help", "-h")) {
        List<String> args = new ArrayList<>(verb);
        args.add(option);
        Run r = snapstash(args.toArray(String[]::new));
        String name = "snapstash " + String.join(" ", verb);
        assertThat(r.exit()).as(name + " " + option + ": " + r.err()).isZero();
        assertThat(r.err()).as(name).isEmpty();
        assertThat(r.out()).as(name).startsWith("Usage: " + name).contains("-h, --help").contains("Examples:");
        String examples = r.out().substring(r.out().indexOf("Examples:"));
        assertThat(examples).as(name + ": an example runs it").contains("  snapstash ");
      }
    }
  }

  /** picocli wraps a footer line wider than its 80 columns mid-word; an example must read as one command. */
  @Test
  void everyExampleFitsOnALine() {
    CommandLine root = Main.commandLine();
    for (List<String> verb : verbs(root, List.of())) {
      CommandLine cl = root;
      for (String word : verb) {
        cl = cl.getSubcommands().get(word);
      }
      assertThat(cl.getCommandSpec().usageMessage().footer())
          .as(String.join(" ", verb))
          .isNotEmpty()
          .allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(80));
    }
  }

  @Test
  void everyVerbPrintsTheVersion() {
    for (List<String> verb : verbs(Main.commandLine(), List.of())) {
      List<String> args = new ArrayList<>(verb);
      args.add("--version");
      Run r = snapstash(args.toArray(String[]::new));
      assertThat(r.exit()).isZero();
      assertThat(r.out()).as(String.join(" ", verb)).startsWith("snapstash ");
    }
  }

  /** The staging refresh and its post-start check are built (issue 20), so the help offers both. */
  @Test
  void theTopLevelHelpPromisesOnlyWhatWorks() {
    Run r = snapstash("--help");
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("  stage ");
    assertThat(snapstash("stage", "--help").out()).contains("stage verify --staging").contains("--apply-jvm-args");
  }
}
