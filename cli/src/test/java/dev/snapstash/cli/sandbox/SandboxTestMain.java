package dev.snapstash.cli.sandbox;

import dev.snapstash.core.error.SnapstashException;
import picocli.CommandLine;

/** Stands in for the lead's {@code Main} in tests: {@code sandbox <verb> ...} only. */
public final class SandboxTestMain {
  private SandboxTestMain() {}

  /** Declares the inherited {@code --json} the way the real root command does. */
  @CommandLine.Command(name = "snapstash", subcommands = SandboxCommand.class)
  public static final class TestRoot implements Runnable {
    @CommandLine.Option(names = "--json", scope = CommandLine.ScopeType.INHERIT)
    boolean json;

    @Override
    public void run() {}
  }

  public static void main(String[] args) {
    CommandLine cl = new CommandLine(new TestRoot());
    cl.setExecutionExceptionHandler((ex, c, p) -> {
      System.err.println(ex.getMessage());
      return ex instanceof SnapstashException se ? 10 + se.kind().ordinal() : 1;
    });
    System.exit(cl.execute(args));
  }
}
