package dev.snapstash.core.process;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link Command}s: the only place in snapstash that starts a process.
 *
 * <p>Both output streams are drained on their own threads so a chatty child can never block on a full pipe.
 * Everything logged is redacted with the command's secrets. A timeout or an interrupt kills the whole process
 * tree (children first), so an interrupted {@code pg_dump -j 4} leaves no workers behind.
 *
 * <p>Thread-safe; one instance serves the whole run. {@link #killAll()} is for the shutdown path.
 */
public class ProcessRunner {
  private static final Logger log = LoggerFactory.getLogger(ProcessRunner.class);
  private static final int STDERR_TAIL_LINES = 20;
  private static final int CAPTURE_LIMIT = 16 * 1024 * 1024;
  private static final Duration KILL_GRACE = Duration.ofSeconds(5);

  private final Set<Process> live = ConcurrentHashMap.newKeySet();

  /** Runs the command to completion; throws {@link SnapstashException} unless it exits with an ok code. */
  public ProcessResult run(Command command) {
    return run(command, line -> {});
  }

  /**
   * Runs the command; each line of standard output (for {@link Command.Output#LOG}) is also handed to {@code
   * stdoutLines}, redacted, which is how callers parse progress.
   */
  public ProcessResult run(Command command, Consumer<String> stdoutLines) {
    ProcessResult result = runAllowingFailure(command, stdoutLines);
    if (!command.okExitCodes().contains(result.exitCode())) {
      throw failure(command, result);
    }
    return result;
  }

  /** Runs the command and returns its result whatever the exit code; still throws if it cannot start or times out. */
  public ProcessResult runAllowingFailure(Command command, Consumer<String> stdoutLines) {
    ProcessBuilder pb = builder(command.argv(), command);
    pb.redirectInput(
        command.stdinFile() != null
            ? ProcessBuilder.Redirect.from(command.stdinFile().toFile())
            : ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    switch (command.stdout()) {
      case FILE -> pb.redirectOutput(command.stdoutFile().toFile());
      case DISCARD -> pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
      default -> pb.redirectOutput(ProcessBuilder.Redirect.PIPE);
    }
    long start = System.nanoTime();
    Process process = launch(pb, command, "run");
    live.add(process);
    try {
      Deque<String> stderrTail = new ArrayDeque<>();
      StringBuilder captured = new StringBuilder();
      Thread err = drain(process.getErrorStream(), tail(command, stderrTail));
      Thread out = null;
      if (command.stdout() == Command.Output.LOG) {
        out =
            drain(
                process.getInputStream(),
                line -> {
                  String red = Redactor.redact(line, command.secrets());
                  log.debug("{}: {}", command.program(), red);
                  stdoutLines.accept(red);
                });
      } else if (command.stdout() == Command.Output.CAPTURE) {
        out =
            drain(
                process.getInputStream(),
                line -> {
                  if (captured.length() < CAPTURE_LIMIT) {
                    captured.append(line).append('\n');
                  }
                });
      }
      boolean finished;
      if (command.timeout() != null) {
        finished = process.waitFor(command.timeout().toMillis(), TimeUnit.MILLISECONDS);
      } else {
        process.waitFor();
        finished = true;
      }
      if (!finished) {
        killTree(process);
        throw new SnapstashException(
            ErrorKind.EXTERNAL_COMMAND,
            command.program() + " did not finish within " + command.timeout().toSeconds() + "s and was stopped");
      }
      err.join();
      if (out != null) {
        out.join();
      }
      String tail = join(stderrTail);
      Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
      log.debug("{} exited with {} after {} ms", command.program(), process.exitValue(), elapsed.toMillis());
      return new ProcessResult(process.exitValue(), captured.toString(), tail, elapsed);
    } catch (InterruptedException e) {
      killTree(process);
      Thread.currentThread().interrupt();
      throw new SnapstashException(ErrorKind.INTERRUPTED, command.program() + " was interrupted", e);
    } finally {
      live.remove(process);
    }
  }

  /**
   * Runs {@code producer | consumer} (a {@code btrfs send} into a {@code btrfs receive}): the bytes pass through this
   * process, counted and reported to {@code bytes}, so a stalled stream shows as stalled progress. Both must exit
   * with an ok code; if one fails the other is stopped, and the failure of the one that failed first is thrown (a
   * receiver that dies makes the sender fail with a broken pipe, which says nothing). Returns the bytes piped.
   */
  public long pipe(Command producer, Command consumer, java.util.function.LongConsumer bytes) {
    if (producer.stdout() != Command.Output.LOG || consumer.stdinFile() != null) {
      throw new IllegalArgumentException("pipe needs the producer's stdout and the consumer's stdin");
    }
    Process from = start(producer, ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process to;
    try {
      to = start(consumer, ProcessBuilder.Redirect.DISCARD, ProcessBuilder.Redirect.PIPE);
    } catch (RuntimeException e) {
      killTree(from);
      throw e;
    }
    live.add(from);
    live.add(to);
    Deque<String> fromTail = new ArrayDeque<>();
    Deque<String> toTail = new ArrayDeque<>();
    Thread fromErr = drain(from.getErrorStream(), tail(producer, fromTail));
    Thread toErr = drain(to.getErrorStream(), tail(consumer, toTail));
    long copied = 0;
    try {
      try (InputStream in = from.getInputStream(); java.io.OutputStream out = to.getOutputStream()) {
        byte[] buffer = new byte[1 << 20];
        int n;
        long reported = 0;
        while ((n = in.read(buffer)) >= 0) {
          if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedException();
          }
          out.write(buffer, 0, n);
          copied += n;
          if (copied - reported >= 16 << 20) {
            bytes.accept(copied);
            reported = copied;
          }
        }
      } catch (IOException e) {
        // The consumer died and closed its end; its exit code and stderr below say why.
        log.debug("pipe from {} to {} broke: {}", producer.program(), consumer.program(), e.getMessage());
        from.destroy();
      }
      int toExit = to.waitFor();
      int fromExit = from.waitFor();
      fromErr.join();
      toErr.join();
      bytes.accept(copied);
      if (!consumer.okExitCodes().contains(toExit)) {
        throw failure(consumer, new ProcessResult(toExit, "", join(toTail), Duration.ZERO));
      }
      if (!producer.okExitCodes().contains(fromExit)) {
        throw failure(producer, new ProcessResult(fromExit, "", join(fromTail), Duration.ZERO));
      }
      return copied;
    } catch (InterruptedException e) {
      killTree(from);
      killTree(to);
      Thread.currentThread().interrupt();
      throw new SnapstashException(
          ErrorKind.INTERRUPTED, producer.program() + " | " + consumer.program() + " was interrupted", e);
    } finally {
      if (from.isAlive()) {
        killTree(from);
      }
      if (to.isAlive()) {
        killTree(to);
      }
      live.remove(from);
      live.remove(to);
    }
  }

  /**
   * Starts the command and hands back its standard output as a stream (a {@code restic dump} read member by member),
   * standard error drained and its tail kept. {@link Streaming#finish()} waits for the exit and throws as {@link
   * #run} does on a failing exit code; {@link Streaming#close()} stops a process still running (the reader gave up).
   */
  public Streaming stream(Command command) {
    Process process = start(command, ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    live.add(process);
    Deque<String> tail = new ArrayDeque<>();
    Thread err = drain(process.getErrorStream(), tail(command, tail));
    return new Streaming(command, process, err, tail);
  }

  /** A running command's standard output; see {@link #stream}. Not thread-safe. */
  public final class Streaming implements java.io.Closeable {
    private final Command command;
    private final Process process;
    private final Thread stderr;
    private final Deque<String> tail;

    private Streaming(Command command, Process process, Thread stderr, Deque<String> tail) {
      this.command = command;
      this.process = process;
      this.stderr = stderr;
      this.tail = tail;
    }

    public InputStream stdout() {
      return process.getInputStream();
    }

    /** The last lines of standard error so far, redacted. */
    public String stderrTail() {
      return join(tail);
    }

    /** Waits for the exit; throws {@link CommandFailedException} unless the exit code is an ok one. */
    public ProcessResult finish() {
      try {
        process.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
      } catch (IOException e) {
        // closed under us: the exit code says what happened
      }
      try {
        int exit = process.waitFor();
        stderr.join();
        ProcessResult result = new ProcessResult(exit, "", join(tail), Duration.ZERO);
        if (!command.okExitCodes().contains(exit)) {
          throw failure(command, result);
        }
        return result;
      } catch (InterruptedException e) {
        killTree(process);
        Thread.currentThread().interrupt();
        throw new SnapstashException(ErrorKind.INTERRUPTED, command.program() + " was interrupted", e);
      } finally {
        live.remove(process);
      }
    }

    @Override
    public void close() {
      if (process.isAlive()) {
        killTree(process);
      }
      try {
        process.getInputStream().close();
      } catch (IOException e) {
        // nothing more to read anyway
      }
      live.remove(process);
    }
  }

  private static Process start(Command command, ProcessBuilder.Redirect stdout, ProcessBuilder.Redirect stdin) {
    ProcessBuilder pb = builder(command.argv(), command);
    pb.redirectOutput(stdout);
    pb.redirectInput(stdin);
    return launch(pb, command, "run");
  }

  /** A builder for {@code argv} with the command's environment and working directory. */
  private static ProcessBuilder builder(java.util.List<String> argv, Command command) {
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().putAll(command.environment());
    if (command.directory() != null) {
      pb.directory(command.directory().toFile());
    }
    return pb;
  }

  /** Starts the process, logging the (redacted) command line; a program that cannot start is one clear error. */
  private static Process launch(ProcessBuilder pb, Command command, String verb) {
    log.debug("{}: {}", verb, command.display());
    try {
      return pb.start();
    } catch (IOException e) {
      throw new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND,
          "could not start " + command.program() + " (is it installed and on PATH?): " + e.getMessage(),
          e);
    }
  }

  /** Both output streams appended to {@code logFile}, nothing on standard input. */
  private static ProcessBuilder toLogFile(ProcessBuilder pb, java.nio.file.Path logFile) {
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    pb.redirectErrorStream(true);
    return pb;
  }

  private static Consumer<String> tail(Command command, Deque<String> tail) {
    return line -> {
      String red = Redactor.redact(line, command.secrets());
      log.debug("{}: {}", command.program(), red);
      synchronized (tail) {
        tail.addLast(red);
        if (tail.size() > STDERR_TAIL_LINES) {
          tail.removeFirst();
        }
      }
    };
  }

  private static String join(Deque<String> tail) {
    synchronized (tail) {
      return String.join("\n", tail);
    }
  }

  /**
   * Starts a long-lived process (a database server, a detached sandbox) in its own session, so that it survives
   * this JVM and a Ctrl-C on its terminal, with both output streams appended to {@code logFile}. Returns its pid.
   * The caller owns stopping it.
   */
  public long spawnDetached(Command command, java.nio.file.Path logFile) {
    java.util.List<String> argv = new java.util.ArrayList<>();
    argv.add("setsid");
    argv.addAll(command.argv());
    return launch(toLogFile(builder(argv, command), logFile), command, "spawn").pid();
  }

  /**
   * Starts a process the caller supervises (waits for, signals), with both output streams appended to {@code
   * logFile}, and returns it at once. Unlike {@link #spawnDetached} it stays in this process's session; unlike
   * {@link #run} nothing waits for it, no timeout applies and the caller owns stopping it.
   */
  public Process start(Command command, java.nio.file.Path logFile) {
    return launch(toLogFile(builder(command.argv(), command), logFile), command, "start");
  }

  /** Kills every process this runner has started and that is still running (the shutdown path). */
  public void killAll() {
    for (Process p : live) {
      killTree(p);
    }
  }

  static CommandFailedException failure(Command command, ProcessResult result) {
    String last = lastLine(result.stderrTail());
    return new CommandFailedException(
        command.program() + " failed with exit code " + result.exitCode() + (last.isEmpty() ? "" : ": " + last),
        command.program(),
        result.exitCode(),
        result.stderrTail());
  }

  private static String lastLine(String text) {
    String t = text.strip();
    int nl = t.lastIndexOf('\n');
    return nl >= 0 ? t.substring(nl + 1).strip() : t;
  }

  private static Thread drain(InputStream in, Consumer<String> lines) {
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  lines.accept(line);
                }
              } catch (IOException e) {
                // The process was killed and its pipe closed under us: nothing more to read.
              }
            },
            "drain");
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** Children first, so a parent cannot respawn them; TERM, then KILL after a grace period. */
  static void killTree(Process process) {
    ProcessHandle handle = process.toHandle();
    handle.descendants().forEach(ProcessHandle::destroy);
    handle.destroy();
    try {
      if (!process.waitFor(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        handle.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      handle.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
