package dev.snapstash.cli.sandbox;

import dev.snapstash.core.error.SnapstashException;
import java.util.Arrays;
import picocli.CommandLine;

/** Stands in for the lead's {@code Main} in tests: {@code sandbox <verb> ...} only. */
public final class SandboxTestMain {
  private SandboxTestMain() {}

  public static void main(String[] args) {
    CommandLine cl = new CommandLine(new SandboxCommand());
    cl.setExecutionExceptionHandler((ex, c, p) -> {
      System.err.println(ex.getMessage());
      return ex instanceof SnapstashException se ? 10 + se.kind().ordinal() : 1;
    });
    System.exit(cl.execute(Arrays.copyOfRange(args, 1, args.length)));
  }
}
