package dev.snapstash.strategy.database.mysql;

import dev.snapstash.core.process.Command;
import java.nio.file.Path;

/**
 * The MySQL and MariaDB client commands of the mysql strategy, as data. The password never appears in them: the
 * tools read it from a {@code --defaults-file} (see {@link #optionsFile}), which must be their first argument and is
 * then the only option file they read, so a {@code ~/.my.cnf} of the user running snapstash cannot override it.
 * Every command connects with {@code --protocol=TCP}, so "localhost" never silently means the system's socket.
 */
public final class MysqlCommands {
  private static final String MAX_PACKET = "--max-allowed-packet=1G";

  private MysqlCommands() {}

  /**
   * The dump: {@code --single-transaction} for one consistent snapshot without locking, routines and triggers,
   * binary columns as hex (safe through any character set), utf8mb4, no tablespaces (they need the PROCESS
   * privilege on MySQL 8 and are not the application's), and no {@code CREATE DATABASE}, so the dump restores
   * into a database of any name.
   */
  static Command dump(String program, MysqlSettings c, Path optionsFile, Path dumpFile) {
    return Command.of(
        program, "--defaults-file=" + optionsFile, "--single-transaction", "--routines", "--triggers", "--hex-blob",
        "--default-character-set=utf8mb4", "--no-tablespaces", MAX_PACKET, "--protocol=TCP",
        "--host=" + c.host(), "--port=" + c.port(), "--user=" + c.username(), "--result-file=" + dumpFile, c.database());
  }

  /** The restore: the client reads the dump on standard input and stops at the first error. */
  static Command restore(String program, MysqlSettings c, Path optionsFile, Path dumpFile) {
    return Command.of(
            program, "--defaults-file=" + optionsFile, "--default-character-set=utf8mb4", MAX_PACKET, "--protocol=TCP",
            "--host=" + c.host(), "--port=" + c.port(), "--user=" + c.username(), "--batch", c.database())
        .stdinFrom(dumpFile);
  }

  /** The {@code [client]} option file carrying the password, quoted and escaped as the option-file parser expects. */
  public static String optionsFile(String password) {
    StringBuilder b = new StringBuilder();
    for (char ch : password.toCharArray()) {
      switch (ch) {
        case '\\' -> b.append("\\\\");
        case '"' -> b.append("\\\"");
        case '\'' -> b.append("\\'");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> b.append(ch);
      }
    }
    return "[client]\npassword=\"" + b + "\"\n";
  }
}
