package dev.snapstash.strategy.database.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.process.Command;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class MysqlCommandsTest {
  static final String PASSWORD = "s3cr3t\"'\\#x";
  static final Secret SECRET = Secret.ofEnv("MYPW", Map.of("MYPW", PASSWORD));
  static final MysqlSettings CONFIG = new MysqlSettings("db.example.com", 3307, "bitbucket", "bb", SECRET);
  static final Path OPTIONS = Path.of("/tmp/private/client.cnf");
  static final Path DUMP = Path.of("/b/database/dump.sql");

  @Test
  void dumpTakesOneConsistentSnapshotWithTheOptionsFileFirst() {
    Command c = MysqlCommands.dump("mariadb-dump", CONFIG, OPTIONS, DUMP);
    assertThat(c.argv()).containsExactly(
        "mariadb-dump", "--defaults-file=/tmp/private/client.cnf", "--single-transaction", "--routines", "--triggers", "--hex-blob",
        "--default-character-set=utf8mb4", "--no-tablespaces", "--max-allowed-packet=1G", "--protocol=TCP",
        "--host=db.example.com", "--port=3307", "--user=bb", "--result-file=/b/database/dump.sql", "bitbucket");
    assertThat(c.environment()).isEmpty();
  }

  @Test
  void restoreFeedsTheDumpOnStandardInput() {
    Command c = MysqlCommands.restore("/usr/bin/mariadb", CONFIG, OPTIONS, DUMP);
    assertThat(c.argv()).containsExactly(
        "/usr/bin/mariadb", "--defaults-file=/tmp/private/client.cnf", "--default-character-set=utf8mb4", "--max-allowed-packet=1G",
        "--protocol=TCP", "--host=db.example.com", "--port=3307", "--user=bb", "--batch", "bitbucket");
    assertThat(c.stdinFile()).isEqualTo(DUMP);
    assertThat(c.environment()).isEmpty();
  }

  @Test
  void optionsFileQuotesAndEscapesThePassword() {
    assertThat(MysqlCommands.optionsFile(PASSWORD)).isEqualTo("[client]\npassword=\"s3cr3t\\\"\\'\\\\#x\"\n");
    assertThat(MysqlCommands.optionsFile("a\nb")).isEqualTo("[client]\npassword=\"a\\nb\"\n");
  }

  static Stream<Command> everyCommand() {
    return Stream.of(MysqlCommands.dump("mariadb-dump", CONFIG, OPTIONS, DUMP), MysqlCommands.restore("mariadb", CONFIG, OPTIONS, DUMP));
  }

  /** The password goes only into the options file: never the argv, the environment ({@code MYSQL_PWD}) or a log line. */
  @ParameterizedTest
  @MethodSource("everyCommand")
  void noCommandCarriesThePassword(Command c) {
    List<String> everything = new ArrayList<>(c.argv());
    everything.addAll(c.environment().values());
    everything.add(c.display());
    assertThat(everything).noneMatch(s -> s.contains("s3cr3t"));
  }
}
