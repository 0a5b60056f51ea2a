package dev.snapstash.strategy.database.postgresql;

import dev.snapstash.core.process.Command;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The PostgreSQL client commands of the postgresql strategy, as data (it runs no {@code psql}: it speaks SQL over
 * JDBC). The password never appears in them: the tools read it from a {@code PGPASSFILE} (see {@link #pgpassLine})
 * that the caller writes into a private directory.
 */
public final class PostgresCommands {
  private PostgresCommands() {}

  /**
   * {@code pg_dump -Fd -j N}: the directory format is the only one pg_dump writes with parallel workers, which share
   * one synchronized snapshot, so the copy is consistent. With {@code snapshot}, the dump is of the database as of
   * that exported snapshot, which another session keeps open ({@code --snapshot}).
   */
  static Command dump(String pgDump, PostgresSettings c, Path dumpDir, Path passFile, Optional<String> snapshot) {
    List<String> argv = new ArrayList<>(List.of(pgDump, "-Fd", "-j", Integer.toString(c.jobs()), "--no-password"));
    argv.addAll(connection(c));
    snapshot.ifPresent(id -> argv.add("--snapshot=" + id));
    argv.addAll(List.of("-f", dumpDir.toString()));
    return withConnectionEnv(Command.of(argv), passFile);
  }

  /**
   * {@code pg_restore -j N --no-owner --no-privileges --exit-on-error} into the configured database. {@code
   * --no-privileges}: the dump's GRANTs name roles of the source server that the target may not have. {@code clean}
   * (a forced restore) adds {@code --clean --if-exists}, so objects in the dump replace existing ones.
   */
  static Command restore(String pgRestore, PostgresSettings c, Path dumpDir, Path passFile, boolean clean) {
    List<String> argv = new ArrayList<>(List.of(
        pgRestore, "-j", Integer.toString(c.jobs()), "--no-owner", "--no-privileges", "--exit-on-error", "--no-password"));
    argv.addAll(connection(c));
    if (clean) {
      argv.addAll(List.of("--clean", "--if-exists"));
    }
    argv.add(dumpDir.toString());
    return withConnectionEnv(Command.of(argv), passFile);
  }

  /** {@code pg_restore --list}: reads a dump's table of contents without connecting anywhere. */
  static Command list(String pgRestore, Path dumpDir) {
    return Command.of(pgRestore, "--list", dumpDir.toString()).capturingStdout().withTimeout(Duration.ofMinutes(5));
  }

  /**
   * One {@code .pgpass} line matching any host, port and database for this user, ':' and '\' escaped: the file is
   * the one place the password goes.
   */
  public static String pgpassLine(String username, String password) {
    return "*:*:*:" + pgpassEscape(username) + ":" + pgpassEscape(password) + "\n";
  }

  private static String pgpassEscape(String s) {
    return s.replace("\\", "\\\\").replace(":", "\\:");
  }

  private static List<String> connection(PostgresSettings c) {
    return List.of("-h", c.host(), "-p", Integer.toString(c.port()), "-U", c.username(), "-d", c.database());
  }

  /**
   * The password file, and an empty {@code PGPASSWORD}: libpq prefers an inherited one to the file, and treats an
   * empty one as unset.
   */
  private static Command withConnectionEnv(Command c, Path passFile) {
    return c.withEnv("PGPASSFILE", passFile.toString())
        .withEnv("PGPASSWORD", "")
        .withEnv("PGCONNECT_TIMEOUT", "30")
        .withEnv("PGAPPNAME", "snapstash");
  }
}
