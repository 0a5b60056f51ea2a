package dev.snapstash.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.snapstash.cli.sandbox.SandboxCommand;
import dev.snapstash.core.util.Json;
import dev.snapstash.core.util.Natives;
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
    description = "Consistent backup, restore and verification for Bitbucket Data Center / Server.",
    subcommands = {
      QuickstartCommand.class,
      BackupCommand.class,
      ListCommand.class,
      PruneCommand.class,
      RestoreCommand.class,
      StageCommand.class,
      VerifyCommand.class,
      RecoverCommand.class,
      CheckCommand.class,
      ImportVarsCommand.class,
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

  /** The result a verb printed with --json, written by {@link #execute} once the verb's outcome is known. */
  JsonNode result;

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

  /**
   * As {@link #execute(String[], boolean)}, with stdout and stderr of the caller's choosing (tests).
   *
   * <p>With --json, stdout carries exactly one JSON document: the verb's result when it succeeds; when it fails,
   * {@code {"error": {"kind", "message", "exitCode"}}}, with the verb's result beside it as {@code "result"} if it
   * had one (the checks of a failed verification, the findings of a failed check).
   */
  public static int execute(String[] args, boolean debug, PrintWriter out, PrintWriter err) {
    CommandLine cl = commandLine();
    if (out != null) {
      cl.setOut(out);
    }
    if (err != null) {
      cl.setErr(err);
    }
    Main main = cl.getCommand();
    SnapstashException[] failure = new SnapstashException[1];
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          failure[0] = asSnapstash(ex);
          return report(failure[0], debug, commandLine.getErr());
        });
    int code = cl.execute(args);
    if (main.json && (failure[0] != null || main.result != null)) {
      ObjectNode doc = failure[0] == null ? null : errorDocument(failure[0]);
      if (doc != null && main.result != null) {
        doc.set("result", main.result);
      }
      printJson(cl.getOut(), doc != null ? doc : main.result);
    }
    return code;
  }

  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setExecutionStrategy(
        parseResult -> {
          Integer help = CommandLine.executeHelpRequest(parseResult);
          if (help != null) {
            return help;
          }
          // Before any verb, so that a mistyped switch is one configuration error, not a fast path taken or not
          // depending on which class asks first.
          try {
            Natives.forcedOff();
          } catch (SnapstashException e) {
            throw new CommandLine.ExecutionException(parseResult.commandSpec().commandLine(), e.getMessage(), e);
          }
          return new CommandLine.RunLast().execute(parseResult);
        });
    cl.setParameterExceptionHandler(
        (ex, args) -> {
          PrintWriter err = ex.getCommandLine().getErr();
          err.println("snapstash: " + ex.getMessage());
          err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
          // Parsing failed, so the option may not have been bound: look for it in the arguments as given.
          if (Arrays.asList(args).contains("--json")) {
            printJson(ex.getCommandLine().getOut(), errorDocument(new SnapstashException(ErrorKind.USAGE, ex.getMessage())));
          }
          return ExitCodes.of(ErrorKind.USAGE);
        });
    return cl;
  }

  private static SnapstashException asSnapstash(Exception ex) {
    return ex instanceof SnapstashException s ? s : SnapstashException.internal("unexpected error: " + ex, ex);
  }

  /** {@code {"error": {"kind": "CONFIG", "message": "…", "exitCode": 3}}}, and {@code "also"} for further errors. */
  static ObjectNode errorDocument(SnapstashException se) {
    ObjectNode doc = Json.MAPPER.createObjectNode();
    ObjectNode error = doc.putObject("error");
    error.put("kind", se.kind().name());
    error.put("message", se.getMessage());
    error.put("exitCode", ExitCodes.of(se.kind()));
    if (se.getSuppressed().length > 0) {
      var also = error.putArray("also");
      for (Throwable t : se.getSuppressed()) {
        also.add(t.getMessage());
      }
    }
    return doc;
  }

  private static void printJson(PrintWriter out, JsonNode doc) {
    try {
      out.println(Json.MAPPER.writeValueAsString(doc));
    } catch (java.io.IOException e) {
      // A tree of plain nodes always serialises; this cannot happen.
      throw new java.io.UncheckedIOException(e);
    }
    out.flush();
  }

  /** One sentence per error on stderr; the stack trace only with --debug. */
  static int report(Exception ex, boolean debug, PrintWriter err) {
    SnapstashException se = asSnapstash(ex);
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
