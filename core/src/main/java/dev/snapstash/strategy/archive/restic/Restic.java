package dev.snapstash.strategy.archive.restic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.CommandFailedException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.util.Json;
import dev.snapstash.core.util.PrivateFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * One repository as restic sees it: runs restic's commands with the password in a private file that exists only
 * while they run, and turns restic's failures into one sentence naming the key to fix.
 */
final class Restic {
  static final String PASSWORD_KEY = "archive[].password";
  static final String BINARY_KEY = "archive[].binary";
  static final String REPOSITORY_KEY = "archive[].repository";

  final ResticCommands.Target target;
  private final Secret password;
  final ProcessRunner runner;
  /** Where the private directory goes (the backup root), or null for the system's temporary directory. */
  private final Path privateRoot;

  Restic(ResticCommands.Target target, Secret password, ProcessRunner runner, Path privateRoot) {
    this.target = target;
    this.password = password;
    this.runner = runner;
    this.privateRoot = privateRoot;
  }

  /** A snapshot as {@code restic snapshots --json} lists it. */
  record Snapshot(String id, String shortId, java.time.Instant time, List<String> tags) {}

  /**
   * Runs {@code action} with a private directory holding the password file ({@code password}, 0600); the directory
   * and the file are deleted when it returns or throws.
   */
  <T> T withPassword(Function<Session, T> action) {
    try (Session s = session()) {
      return action.apply(s);
    }
  }

  /** A session the caller closes (a reader whose restic runs after this call returned). */
  Session session() {
    String secret;
    try {
      secret = password.reveal();
    } catch (SnapstashException e) {
      throw new SnapstashException(e.kind(), PASSWORD_KEY + ": " + e.getMessage(), e);
    }
    Path root = privateRoot != null ? privateRoot : Path.of(System.getProperty("java.io.tmpdir"));
    PrivateFiles files = PrivateFiles.create(root, "restic");
    try {
      return new Session(files, files.write("password", secret), secret);
    } catch (RuntimeException e) {
      files.close();
      throw e;
    }
  }

  /** The password file and its private directory, deleted on close. */
  final class Session implements AutoCloseable {
    private final PrivateFiles files;
    final Path dir;
    final Path passwordFile;
    private final String secret;

    private Session(PrivateFiles files, Path passwordFile, String secret) {
      this.files = files;
      this.dir = files.dir();
      this.passwordFile = passwordFile;
      this.secret = secret;
    }

    @Override
    public void close() {
      files.close();
    }

    /** The command with the password as a redacted value, should restic ever echo it. */
    Command secured(Command c) {
      return c.withSecret(secret);
    }

    void run(Command c) {
      try {
        runner.run(secured(c));
      } catch (SnapstashException e) {
        throw explain(e);
      }
    }

    /** Whether the repository exists and opens with the password; throws for anything else. */
    boolean exists() {
      try {
        runner.run(secured(ResticCommands.catConfig(target, passwordFile)));
        return true;
      } catch (SnapstashException e) {
        SnapstashException x = explain(e);
        if (x.kind() == ErrorKind.PRECONDITION && isMissing(e)) {
          return false;
        }
        throw x;
      }
    }

    /** The repository must exist; creates it if {@code init}, else says how. */
    void ensureRepository(boolean init) {
      if (!exists()) {
        if (!init) {
          throw missing();
        }
        run(ResticCommands.init(target, passwordFile).discardingStdout());
      }
    }

    List<Snapshot> snapshots(String host, String tag) {
      String json;
      try {
        json = runner.run(secured(ResticCommands.snapshots(target, passwordFile, host, tag))).stdout();
      } catch (SnapstashException e) {
        throw explain(e);
      }
      List<Snapshot> out = new ArrayList<>();
      try {
        JsonNode all = Json.MAPPER.readTree(json.isBlank() ? "[]" : json);
        for (JsonNode s : all) {
          List<String> tags = new ArrayList<>();
          s.path("tags").forEach(t -> tags.add(t.asText()));
          out.add(new Snapshot(s.path("id").asText(), s.path("short_id").asText(), java.time.Instant.parse(s.path("time").asText()), tags));
        }
      } catch (IOException | RuntimeException e) {
        throw new SnapstashException(ErrorKind.EXTERNAL_COMMAND, "cannot read restic's list of snapshots: " + e.getMessage(), e);
      }
      return out;
    }
  }

  private static boolean isMissing(SnapstashException e) {
    String t = text(e);
    return t.contains("unable to open config file") || t.contains("Is there a repository at the following location");
  }

  private static String text(SnapstashException e) {
    return e instanceof CommandFailedException c ? c.stderrTail() + "\n" + c.getMessage() : String.valueOf(e.getMessage());
  }

  SnapstashException missing() {
    return SnapstashException.precondition(
        "there is no restic repository at " + target.repository() + "; create it with `restic init` (or set"
            + " archive[].init: true), or fix " + REPOSITORY_KEY);
  }

  /** restic's failure as one sentence naming what to fix; the original stays the cause. */
  SnapstashException explain(SnapstashException e) {
    if (e.kind() == ErrorKind.INTERRUPTED) {
      return e;
    }
    if (!(e instanceof CommandFailedException)) {
      if (e.kind() == ErrorKind.EXTERNAL_COMMAND && String.valueOf(e.getMessage()).startsWith("could not start")) {
        return new SnapstashException(
            ErrorKind.EXTERNAL_COMMAND,
            "cannot run restic as '" + target.binary() + "' (not installed, or not executable); install restic or fix " + BINARY_KEY,
            e);
      }
      return e;
    }
    String t = text(e);
    if (t.contains("wrong password") || t.contains("no key found")) {
      return new SnapstashException(
          ErrorKind.AUTHENTICATION,
          "the restic repository " + target.repository() + " does not open with the password of " + PASSWORD_KEY + "; fix that secret",
          e);
    }
    if (isMissing(e)) {
      return new SnapstashException(ErrorKind.PRECONDITION, missing().getMessage(), e);
    }
    if (t.contains("repository is already locked")) {
      return new SnapstashException(
          ErrorKind.BUSY,
          "the restic repository " + target.repository() + " is locked by another restic process; wait for it, or run"
              + " `restic unlock` if that process is gone",
          e);
    }
    return e;
  }
}
