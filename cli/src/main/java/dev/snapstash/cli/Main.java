package dev.snapstash.cli;

import dev.snapstash.cli.sandbox.SandboxCommand;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.PrintWriter;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code snapstash} command. Parses, dispatches to one small class per verb, and maps errors to exit codes;
 * the only place that calls {@link System#exit}.
 */
@Command(
    name = "snapstash",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "Consistent backup, restore and staging refresh for Bitbucket Data Center / Server.",
    subcommands = {
      QuickstartCommand.class,
      BackupCommand.class,
      ListCommand.class,
      PruneCommand.class,
      RestoreCommand.class,
      VerifyCommand.class,
      RecoverCommand.class,
      CheckCommand.class,
      SandboxCommand.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success",
      "1:internal error (a bug; rerun with --debug and report it)",
      "2:usage error on the command line",
      "3:configuration error",
      "4:a server could not be reached",
      "5:credentials or permission refused",
      "6:maintenance lock refused, or draining timed out",
      "7:a precondition failed (non-empty target, unknown tag, running instance, …)",
      "8:an external command failed",
      "9:storage error (disk full, permission, I/O)",
      "10:another snapstash run holds the backup root",
      "11:verification found a damaged or inconsistent backup",
      "130:interrupted (Ctrl-C or SIGTERM); clean-up was done"
    })
public final class Main implements Runnable {
  @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Log everything and print stack traces.")
  boolean debug;

  @Option(names = "--json", scope = ScopeType.INHERIT, description = "Print results as JSON on stdout.")
  boolean json;

  @Option(
      names = {"-c", "--config"},
      scope = ScopeType.INHERIT,
      paramLabel = "FILE",
      description = "Configuration file (default: ${DEFAULT-VALUE}, or $SNAPSTASH_CONFIG).",
      defaultValue = "${env:SNAPSTASH_CONFIG:-snapstash.yml}")
  java.nio.file.Path config;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (see snapstash --help)");
  }

  public static void main(String[] args) {
    boolean debug = Arrays.asList(args).contains("--debug");
    // Before any logger exists: logback reads the level once, at start-up.
    System.setProperty("snapstash.log.level", debug ? "DEBUG" : "INFO");
    Thread main = Thread.currentThread();
    Shutdown shutdown = Shutdown.install(main);
    int code = execute(args, debug);
    if (shutdown.beginExit(code)) {
      System.exit(code);
    }
  }

  /** Runs the command line and returns the exit code; never exits. */
  public static int execute(String[] args, boolean debug) {
    return execute(args, debug, null, null);
  }

  /** As {@link #execute(String[], boolean)}, with stdout and stderr of the caller's choosing (tests). */
  public static int execute(String[] args, boolean debug, PrintWriter out, PrintWriter err) {
    CommandLine cl = commandLine();
    if (out != null) {
      cl.setOut(out);
    }
    if (err != null) {
      cl.setErr(err);
    }
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> report(ex, debug, commandLine.getErr()));
    return cl.execute(args);
  }

  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setParameterExceptionHandler(
        (ex, args) -> {
          PrintWriter err = ex.getCommandLine().getErr();
          err.println("snapstash: " + ex.getMessage());
          err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
          return ExitCodes.of(ErrorKind.USAGE);
        });
    return cl;
  }

  /** One sentence per error on stderr; the stack trace only with --debug. */
  static int report(Exception ex, boolean debug, PrintWriter err) {
    SnapstashException se =
        ex instanceof SnapstashException s
            ? s
            : SnapstashException.internal("unexpected error: " + ex, ex);
    err.println("snapstash: " + se.getMessage());
    for (Throwable suppressed : se.getSuppressed()) {
      err.println("  also: " + suppressed.getMessage());
    }
    if (debug) {
      se.printStackTrace(err);
    } else if (se.kind() == ErrorKind.INTERNAL) {
      err.println("  (this is a bug; rerun with --debug for the stack trace)");
    }
    err.flush();
    return ExitCodes.of(se.kind());
  }
}
