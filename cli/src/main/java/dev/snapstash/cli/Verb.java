package dev.snapstash.cli;

import dev.snapstash.core.api.Snapstash;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.util.Json;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/** What every verb shares: the global options, the configuration, and printing results as text or JSON. */
public abstract class Verb implements Callable<Integer> {
  @CommandLine.Spec protected CommandLine.Model.CommandSpec spec;

  protected Main root() {
    return (Main) spec.root().userObject();
  }

  protected boolean json() {
    return root().json;
  }

  protected SnapstashConfig config() {
    return ConfigLoader.load(root().config, System.getenv());
  }

  /** The facade for the configuration, with the sandbox as the instance a drill starts on a restored copy. */
  protected Snapstash snapstash() {
    ProcessRunner runner = new ProcessRunner();
    return Snapstash.configure(config()).runner(runner).version(Version.get()).drillInstance(new SandboxDrillInstance(runner))
        .exitCodes(ExitCodes::of).build();
  }

  protected PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /**
   * Prints a result: the text now, or with --json {@code value}, which {@link Main#execute} writes once the verb
   * has ended, alone if it succeeded and beside the error object if it then failed.
   */
  protected void print(Object value, String text) {
    if (json()) {
      try {
        root().result = Json.MAPPER.valueToTree(value);
      } catch (IllegalArgumentException e) {
        throw SnapstashException.internal("cannot write JSON: " + e.getMessage(), e);
      }
      return;
    }
    PrintWriter out = out();
    out.print(text.endsWith("\n") ? text : text + "\n");
    out.flush();
  }
}
