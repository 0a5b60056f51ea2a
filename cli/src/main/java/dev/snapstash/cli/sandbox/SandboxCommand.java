package dev.snapstash.cli.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.snapstash.cli.ExitCodes;
import dev.snapstash.cli.Version;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.sandbox.RunningSandbox;
import dev.snapstash.sandbox.Sandbox;
import dev.snapstash.sandbox.SandboxOptions;
import dev.snapstash.sandbox.SandboxState;
import dev.snapstash.sandbox.load.LoadGenerator;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code snapstash sandbox}: a local Bitbucket-compatible instance to test and demo against. */
@Command(
    name = "sandbox",
    description = "Run a local Bitbucket-compatible instance (for tests and demos) and drive load against it.",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    footerHeading = "%nExamples:%n",
    footer = {
      "  snapstash sandbox start --dir /var/tmp/demo --db postgresql",
      "  snapstash -c /var/tmp/demo/snapstash.yml backup",
      "  snapstash sandbox stop --dir /var/tmp/demo"
    },
    subcommands = {
      SandboxCommand.Start.class,
      SandboxCommand.Stop.class,
      SandboxCommand.Status.class,
      SandboxCommand.Load.class
    })
public class SandboxCommand implements Runnable {
  /** The class whose {@code main} serves {@code sandbox start --foreground}; tests point it elsewhere. */
  public static final String MAIN_CLASS_PROPERTY = "snapstash.sandbox.main";

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new SnapstashException(ErrorKind.USAGE, "choose a sandbox command: start, stop, status or load");
  }

  /**
   * Whether {@code --json} was given. The option is declared once by the root command and inherited by every
   * verb, so it is looked up rather than declared here (a second declaration would clash).
   */
  static boolean json(CommandSpec spec) {
    OptionSpec o = spec.findOption("--json");
    return o != null && Boolean.TRUE.equals(o.getValue());
  }

  /** The result on the command's standard output (the caller's, when run through {@code Main.execute}). */
  static void print(CommandSpec spec, Object value, String text) {
    java.io.PrintWriter out = spec.commandLine().getOut();
    if (json(spec)) {
      try {
        out.println(JSON.writeValueAsString(value));
      } catch (Exception e) {
        throw SnapstashException.internal("cannot render JSON", e);
      }
    } else {
      out.println(text);
    }
    out.flush();
  }

  @Command(name = "start", description = {"Start the sandbox in DIR (detached unless --foreground).",
      "A private database server kept running by `sandbox stop --keep-database` is served again."},
      mixinStandardHelpOptions = true, versionProvider = Version.class,
      footerHeading = "%nExamples:%n",
      footer = {
        "  snapstash sandbox start --dir /var/tmp/demo",
        "  snapstash sandbox start --dir /var/tmp/demo --db mariadb --repos 20 --port 0"
      })
  public static class Start implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--dir", required = true, description = "Sandbox directory (created if missing).")
    Path dir;

    @Option(names = "--port", description = "HTTP port on 127.0.0.1 (0 = any free one; default 7990 or the last).")
    Integer port;

    @Option(names = "--db", converter = DbConverter.class,
        description = "h2 (default), postgresql or mariadb. Without --jdbc-url, postgresql and mariadb run a private "
            + "server in DIR/pgdata or DIR/mariadb that the sandbox starts and stops.")
    DbKind db;

    @Option(names = "--jdbc-url", description = "Use this external database server instead of a private one.")
    String jdbcUrl;

    @Option(names = "--db-user", description = "User for --jdbc-url.")
    String dbUser;

    @Option(names = "--db-password-file", description = "File holding the password for --jdbc-url.")
    Path dbPasswordFile;

    @Option(names = "--repos", defaultValue = "3", description = "Repositories to generate on first start.")
    int repos;

    @Option(names = "--commits", defaultValue = "5", description = "Commits per repository.")
    int commits;

    @Option(names = "--files-per-commit", defaultValue = "10", description = "Files added or changed per commit.")
    int filesPerCommit;

    @Option(names = "--blob-kb", defaultValue = "4", description = "Average file size in KiB.")
    int blobKb;

    @Option(names = "--admin-password-file", description = "Admin password (default: generated into DIR).")
    Path adminPasswordFile;

    @Option(names = "--proxy-name", description = "Public host name behind a TLS proxy (written as proxy settings).")
    String proxyName;

    @Option(names = "--start-timeout", defaultValue = "60s", converter = DurationConverter.class,
        description = "How long a detached start waits for the instance to answer.")
    Duration startTimeout;

    @Option(names = "--foreground", description = "Serve in this process until SIGTERM or Ctrl-C.")
    boolean foreground;

    @Option(names = "--tls", description = "Serve https with a self-signed certificate made in DIR/tls (its PEM file"
        + " goes into snapstash.yml as instance.ca-file), and a plain-http port that redirects to it.")
    boolean tls;

    @Option(names = "--context-path", paramLabel = "PATH",
        description = "Serve under this path, like /bitbucket (the base URL then ends with it).")
    String contextPath;

    @Override
    public Integer call() {
      SandboxOptions o = new SandboxOptions(dir, port, db, jdbcUrl, dbUser, dbPasswordFile, repos, commits,
          filesPerCommit, blobKb, adminPasswordFile, proxyName, startTimeout)
          .withTls(tls).withContextPath(contextPath);
      ProcessRunner runner = new ProcessRunner();
      if (foreground) {
        RunningSandbox sandbox = RunningSandbox.start(o, runner);
        // Main's own hook interrupts this thread on SIGTERM; this one covers launchers that do not.
        Runtime.getRuntime().addShutdownHook(new Thread(sandbox::close, "sandbox-shutdown"));
        print(spec, sandbox.state(), started(sandbox.state(), o.dir()));
        try {
          sandbox.awaitClosed();
        } catch (InterruptedException e) {
          sandbox.close();
        }
        return 0;
      }
      String java = ProcessHandle.current().info().command()
          .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      List<String> launcher = List.of(java, "-cp", absoluteClassPath(),
          System.getProperty(MAIN_CLASS_PROPERTY, "dev.snapstash.cli.Main"), "sandbox", "start");
      SandboxState s = Sandbox.startDetached(o, launcher, runner);
      print(spec, s, started(s, o.dir()));
      return 0;
    }

    /** The child runs in DIR, so a relative class path (e.g. {@code java -jar cli/target/snapstash.jar}) breaks. */
    private static String absoluteClassPath() {
      return java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
          .map(e -> e.isEmpty() ? e : Path.of(e).toAbsolutePath().toString())
          .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

    private static String started(SandboxState s, Path dir) {
      return "sandbox running at " + s.baseUrl() + " (pid " + s.pid() + ")\n"
          + "  admin user:     " + s.adminUser() + " (password in " + s.adminPasswordFile() + ")\n"
          + "  database:       " + s.db().optionValue() + " " + s.jdbcUrl()
          + (s.dbLocal() ? " (private server in " + s.dbDataDir() + ")" : "") + "\n"
          + "  configuration:  " + dir.toAbsolutePath().normalize().resolve("snapstash.yml");
    }
  }

  @Command(name = "stop", description = {"Stop the sandbox in DIR, and its private database server if it has one.",
      "With --keep-database the private database server stays up, as a database server outlives a stopped"
          + " Bitbucket: rehearse a disaster recovery by restoring into the sandbox's own home and database, then"
          + " `sandbox start` serves the restored copy. A later `sandbox stop` stops the server."},
      mixinStandardHelpOptions = true, versionProvider = Version.class,
      footerHeading = "%nExamples:%n",
      footer = {
        "  snapstash sandbox stop --dir /var/tmp/demo",
        "  # disaster-recovery rehearsal on a sandbox with --db postgresql or mariadb",
        "  snapstash sandbox stop --dir /var/tmp/demo --keep-database",
        "  snapstash -c /var/tmp/demo/snapstash.yml restore latest --force --yes",
        "  snapstash sandbox start --dir /var/tmp/demo"
      })
  public static class Stop implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--dir", required = true, description = "Sandbox directory.")
    Path dir;

    @Option(names = "--keep-database",
        description = "Leave the private database server (--db postgresql or mariadb) running.")
    boolean keepDatabase;

    @Override
    public Integer call() {
      Sandbox.Stopped s = Sandbox.stop(dir, new ProcessRunner(), keepDatabase);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("dir", dir.toAbsolutePath().normalize().toString());
      m.put("stopped", s.sandboxStopped() || s.databaseStopped());
      m.put("databaseKept", s.databaseKept());
      String text = s.sandboxStopped() || s.databaseStopped() ? "sandbox stopped" : "sandbox was not running";
      if (s.databaseKept()) {
        text += "; its private database server keeps running (`snapstash sandbox stop --dir " + dir + "` stops it)";
      } else if (keepDatabase) {
        text += "; no private database server to keep (h2 lives in the home, an external server is not ours)";
      }
      print(spec, m, text);
      return 0;
    }
  }

  @Command(name = "status", description = {"Report whether the sandbox in DIR is running.",
      "Exit status 0 when it runs, 7 when it does not (the report, or its JSON, is printed either way)."},
      mixinStandardHelpOptions = true, versionProvider = Version.class,
      footerHeading = "%nExamples:%n",
      footer = {
        "  snapstash sandbox status --dir /var/tmp/demo",
        "  # start it unless it runs",
        "  snapstash sandbox status --dir /var/tmp/demo \\",
        "      || snapstash sandbox start --dir /var/tmp/demo"
      })
  public static class Status implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--dir", required = true)
    Path dir;

    @Override
    public Integer call() {
      Sandbox.Status s = Sandbox.status(dir);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("running", s.running());
      m.put("url", s.baseUrl());
      m.put("pid", s.pid());
      m.put("dir", s.dir().toString());
      m.put("db", s.db());
      m.put("jdbcUrl", s.jdbcUrl());
      m.put("dbDataDir", s.dbDataDir());
      m.put("dbServerRunning", s.dbServerRunning());
      m.put("dbKept", s.dbKept());
      String text = s.running() ? "running at " + s.baseUrl() + " (pid " + s.pid() + ")" : "stopped";
      if (s.db() != null) {
        text += "\n  database: " + s.dbLocation();
        if (!s.running() && s.dbKept()) {
          text += "\n  the private database server was kept running by `sandbox stop --keep-database`: `snapstash"
              + " sandbox start --dir " + s.dir() + "` serves it again, `snapstash sandbox stop --dir " + s.dir()
              + "` stops it";
        } else if (!s.running() && Boolean.TRUE.equals(s.dbServerRunning())) {
          text += "\n  the private database server outlived its sandbox: `snapstash sandbox stop --dir " + s.dir()
              + "` stops it";
        }
      }
      print(spec, m, text);
      // A question answered, like `systemctl is-active`: scripts test the exit status.
      return s.running() ? ExitCodes.OK : ExitCodes.of(ErrorKind.PRECONDITION);
    }
  }

  @Command(name = "load", description = "Push continuously from N git clients; record acknowledged pushes.",
      mixinStandardHelpOptions = true, versionProvider = Version.class,
      footerHeading = "%nExamples:%n",
      footer = {
        "  snapstash sandbox load --dir /var/tmp/demo --duration 2m \\",
        "      --clients 4 --ledger /var/tmp/demo-pushes.jsonl"
      })
  public static class Load implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--dir", required = true)
    Path dir;

    @Option(names = "--clients", defaultValue = "4")
    int clients;

    @Option(names = "--duration", defaultValue = "30s", converter = DurationConverter.class,
        description = "How long to push (e.g. 30s, 2m).")
    Duration duration;

    @Option(names = "--max-pushes", defaultValue = "100000")
    int maxPushes;

    @Option(names = "--ledger", required = true, description = "JSON-lines file of acknowledged pushes.")
    Path ledger;

    @Override
    public Integer call() {
      SandboxState s = SandboxState.read(dir)
          .orElseThrow(() -> SnapstashException.precondition("no sandbox in " + dir + ": check --dir"));
      if (!Sandbox.status(dir).running()) {
        throw SnapstashException.precondition(
            "the sandbox in " + dir + " is not running: start it with `snapstash sandbox start --dir " + dir + "`");
      }
      Path work = dir.toAbsolutePath().normalize().resolve("home").resolve("tmp").resolve("load-" + ProcessHandle
          .current().pid());
      LoadGenerator.Result r = new LoadGenerator(new ProcessRunner(), Clock.systemUTC()).run(
          new LoadGenerator.Options(s.baseUrl(), s.adminUser(), s.adminPassword(), clients, duration, maxPushes,
              ledger.toAbsolutePath(), work));
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("pushes", r.pushes());
      m.put("refused", r.refused());
      m.put("failed", r.failed());
      m.put("elapsedMs", r.elapsed().toMillis());
      m.put("ledger", ledger.toAbsolutePath().toString());
      print(spec, m, r.pushes() + " pushes acknowledged (" + r.refused() + " refused with 503, " + r.failed()
          + " failed otherwise) in " + r.elapsed().toSeconds() + " s; ledger " + ledger.toAbsolutePath());
      return 0;
    }
  }

  static final class DbConverter implements ITypeConverter<DbKind> {
    @Override
    public DbKind convert(String value) {
      return DbKind.parse(value);
    }
  }

  /** {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}, or ISO-8601 ({@code PT30S}). */
  public static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      try {
        if (v.startsWith("pt") || v.startsWith("p")) {
          return Duration.parse(value.trim().toUpperCase(Locale.ROOT));
        }
        if (v.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
        }
        long n = Long.parseLong(v.substring(0, v.length() - 1));
        return switch (v.charAt(v.length() - 1)) {
          case 's' -> Duration.ofSeconds(n);
          case 'm' -> Duration.ofMinutes(n);
          case 'h' -> Duration.ofHours(n);
          default -> Duration.ofSeconds(Long.parseLong(v));
        };
      } catch (RuntimeException e) {
        throw new SnapstashException(ErrorKind.USAGE, "cannot read '" + value + "' as a duration: use e.g. 30s or 2m");
      }
    }
  }
}
