package dev.snapstash.core.process;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * An external command as data: built by pure functions (so tests can assert the argv), executed only by
 * {@link ProcessRunner}. Never a shell string.
 *
 * @param argv program and arguments; secrets never belong here
 * @param environment added to (not replacing) the runner's environment; secrets go here or in files
 * @param directory working directory, or {@code null} for the current one
 * @param timeout wall-clock limit, or {@code null} for none
 * @param stdout where standard output goes
 * @param stdoutFile the file for {@link Output#FILE}
 * @param stdinFile a file fed to standard input, or {@code null} for none
 * @param okExitCodes exit codes that count as success (always contains 0)
 * @param secrets values redacted from anything logged or reported about this command
 */
public record Command(
    List<String> argv,
    Map<String, String> environment,
    Path directory,
    Duration timeout,
    Output stdout,
    Path stdoutFile,
    Path stdinFile,
    Set<Integer> okExitCodes,
    Set<String> secrets) {

  /** What to do with standard output. Standard error is always logged and its tail kept. */
  public enum Output {
    /** Log each line at debug level. */
    LOG,
    /** Keep it all in {@link ProcessResult#stdout()} (for short outputs: versions, queries). */
    CAPTURE,
    /** Write it to {@link Command#stdoutFile()}. */
    FILE,
    /** Discard it. */
    DISCARD
  }

  public Command {
    argv = List.copyOf(argv);
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("empty argv");
    }
    environment = Map.copyOf(environment);
    Objects.requireNonNull(stdout, "stdout");
    if (stdout == Output.FILE) {
      Objects.requireNonNull(stdoutFile, "stdoutFile");
    }
    okExitCodes = Set.copyOf(okExitCodes);
    if (!okExitCodes.contains(0)) {
      throw new IllegalArgumentException("okExitCodes must contain 0");
    }
    secrets = Set.copyOf(secrets);
  }

  public static Command of(String... argv) {
    return of(List.of(argv));
  }

  public static Command of(List<String> argv) {
    return new Command(argv, Map.of(), null, null, Output.LOG, null, null, Set.of(0), Set.of());
  }

  /** The program name, for messages. */
  public String program() {
    String p = argv.get(0);
    int slash = p.lastIndexOf('/');
    return slash >= 0 ? p.substring(slash + 1) : p;
  }

  public Command withEnv(String name, String value) {
    Map<String, String> env = new LinkedHashMap<>(environment);
    env.put(name, value);
    return new Command(argv, env, directory, timeout, stdout, stdoutFile, stdinFile, okExitCodes, secrets);
  }

  /** Adds an environment variable whose value is a secret: passed to the process, redacted everywhere else. */
  public Command withSecretEnv(String name, String value) {
    return withEnv(name, value).withSecret(value);
  }

  public Command withSecret(String value) {
    if (value == null || value.isEmpty()) {
      return this;
    }
    Set<String> s = new java.util.HashSet<>(secrets);
    s.add(value);
    return new Command(argv, environment, directory, timeout, stdout, stdoutFile, stdinFile, okExitCodes, s);
  }

  public Command inDirectory(Path dir) {
    return new Command(argv, environment, dir, timeout, stdout, stdoutFile, stdinFile, okExitCodes, secrets);
  }

  public Command withTimeout(Duration t) {
    return new Command(argv, environment, directory, t, stdout, stdoutFile, stdinFile, okExitCodes, secrets);
  }

  public Command capturingStdout() {
    return new Command(argv, environment, directory, timeout, Output.CAPTURE, null, stdinFile, okExitCodes, secrets);
  }

  public Command discardingStdout() {
    return new Command(argv, environment, directory, timeout, Output.DISCARD, null, stdinFile, okExitCodes, secrets);
  }

  public Command stdoutTo(Path file) {
    return new Command(argv, environment, directory, timeout, Output.FILE, file, stdinFile, okExitCodes, secrets);
  }

  public Command stdinFrom(Path file) {
    return new Command(argv, environment, directory, timeout, stdout, stdoutFile, file, okExitCodes, secrets);
  }

  /** Treats these exit codes as success too (rsync's 24, "some files vanished", during a live pre-copy). */
  public Command alsoOkOn(Integer... codes) {
    Set<Integer> ok = new java.util.HashSet<>(okExitCodes);
    ok.addAll(List.of(codes));
    return new Command(argv, environment, directory, timeout, stdout, stdoutFile, stdinFile, ok, secrets);
  }

  /** Appends arguments; handy for builders. */
  public Command plus(List<String> more) {
    List<String> a = new ArrayList<>(argv);
    a.addAll(more);
    return new Command(a, environment, directory, timeout, stdout, stdoutFile, stdinFile, okExitCodes, secrets);
  }

  /** The argv as one line with secrets redacted, for logs and messages only (never executed). */
  public String display() {
    return Redactor.redact(String.join(" ", argv), secrets);
  }
}
