package dev.snapstash.cli;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.Json;
import dev.snapstash.core.error.SnapstashException;
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

  protected PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /** Prints a result: {@code value} as JSON with --json, else the text. */
  protected void print(Object value, String text) {
    PrintWriter out = out();
    if (json()) {
      try {
        out.println(Json.MAPPER.writeValueAsString(value));
      } catch (java.io.IOException e) {
        throw SnapstashException.internal("cannot write JSON: " + e.getMessage(), e);
      }
    } else {
      out.print(text.endsWith("\n") ? text : text + "\n");
    }
    out.flush();
  }
}
