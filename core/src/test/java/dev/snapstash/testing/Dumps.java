package dev.snapstash.testing;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;

/**
 * A whole database as text, by the server's own dump tool: schema and every row, in a form that changes whenever
 * anything in the database does. Tests compare it before and after an operation that must leave a database alone.
 */
public final class Dumps {
  private Dumps() {}

  public static String of(TestDatabase db) {
    ProcessRunner runner = new ProcessRunner();
    if (db.kind().equals("postgresql")) {
      Path pgDump = Tools.require("pg_dump");
      Path pass = db.passwordFile().resolveSibling(db.database() + ".pgpass");
      try {
        java.nio.file.Files.writeString(pass, dev.snapstash.strategy.database.postgresql.PostgresCommands.pgpassLine(db.user(), db.password()));
        java.nio.file.Files.setPosixFilePermissions(pass, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return runner.run(
              Command.of(pgDump.toString(), "--no-password", "-h", db.host(), "-p", Integer.toString(db.port()), "-U", db.user(),
                      "-d", db.database())
                  .withEnv("PGPASSFILE", pass.toString())
                  .withEnv("PGPASSWORD", "")
                  .capturingStdout())
          .stdout()
          .lines()
          // pg_dump 15.14 and later fence the script with a random key on each run (CVE-2025-8714).
          .filter(l -> !l.startsWith("\\restrict ") && !l.startsWith("\\unrestrict "))
          .collect(java.util.stream.Collectors.joining("\n"));
    }
    Path dump = Tools.require("mariadb-dump");
    Path cnf = db.passwordFile().resolveSibling(db.database() + ".cnf");
    try {
      java.nio.file.Files.writeString(cnf, dev.snapstash.strategy.database.mysql.MysqlCommands.optionsFile(db.password()));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return runner.run(
            Command.of(dump.toString(), "--defaults-file=" + cnf, "--protocol=TCP", "--host=" + db.host(), "--port=" + db.port(),
                    "--user=" + db.user(), "--skip-dump-date", "--routines", "--events", "--triggers", db.database())
                .capturingStdout())
        .stdout();
  }
}
