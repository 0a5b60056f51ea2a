package dev.snapstash.strategy.database.postgresql;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.strategy.database.ClientTools;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * pg_dump and pg_restore, found by {@link ClientTools} in {@code database.postgresql.bin-dir} or on PATH, with the
 * version each reports: pg_dump refuses to dump a server of a newer major version, so the preflight says so, and a
 * backup stops before the lock.
 */
final class PostgresTools {
  private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?");

  /**
   * A tool and its version as the server numbers its major version: 1500 for 15.x, 906 for 9.6.x ({@code
   * server_version_num / 100}).
   */
  record Tool(String path, String version, int comparableMajor) {
    /** Whether this pg_dump can dump a server of {@code serverVersionNum} ({@code 150004} for 15.4). */
    boolean canDump(int serverVersionNum) {
      return serverVersionNum / 100 <= comparableMajor;
    }
  }

  private final ClientTools tools;

  PostgresTools(ClientTools tools) {
    this.tools = tools;
  }

  static PostgresTools of(PostgresSettings c, ProcessRunner runner) {
    Optional<Path> binDir = c.binDir() == null || c.binDir().isBlank() ? Optional.empty() : Optional.of(Path.of(c.binDir()));
    return new PostgresTools(ClientTools.onPath(runner, binDir, "install postgresql-client or set " + PostgresDumpStrategy.KEY + ".bin-dir"));
  }

  /** Where {@code name} is, without running it. */
  Optional<Path> find(String name) {
    return tools.find(name);
  }

  /** {@code name} found and asked its version, as a fact; a problem naming {@code bin-dir} when it is missing or mute. */
  Optional<Tool> check(Findings findings, String name) {
    Optional<Path> p = tools.find(name);
    if (p.isEmpty()) {
      findings.problem(PostgresDumpStrategy.KEY + ".bin-dir", tools.notInstalled(name));
      return Optional.empty();
    }
    try {
      Tool t = parse(tools.ask(p.get()));
      findings.ok(PostgresDumpStrategy.NAME, t.version());
      return Optional.of(t);
    } catch (SnapstashException e) {
      findings.problem(PostgresDumpStrategy.KEY + ".bin-dir", e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * {@code name} and its version.
   *
   * @throws SnapstashException PRECONDITION when it is not installed, EXTERNAL_COMMAND when its version is unreadable
   */
  Tool require(String name) {
    return parse(tools.ask(tools.require(name)));
  }

  /** The PostgreSQL version in a tool's {@code --version} line ({@code pg_dump (PostgreSQL) 16.2 (Debian 16.2-1)}). */
  static Tool parse(ClientTools.Tool t) {
    Matcher m = VERSION.matcher(t.version());
    if (!m.find()) {
      throw new SnapstashException(ErrorKind.EXTERNAL_COMMAND, t.path() + " --version printed an unexpected line: " + t.version());
    }
    int major = Integer.parseInt(m.group(1));
    int minor = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
    // Before 10, the major version had two parts (9.6); since, one (15).
    int comparable = major >= 10 ? major * 100 : major * 100 + minor;
    return new Tool(t.path().toString(), t.version(), comparable);
  }

  /** The sentence for a pg_dump too old for the server. */
  static String mismatch(Tool t, String serverVersion) {
    return t.version() + " cannot dump the newer server (PostgreSQL " + serverVersion + "); install a newer postgresql-client or point "
        + PostgresDumpStrategy.KEY + ".bin-dir at one";
  }
}
