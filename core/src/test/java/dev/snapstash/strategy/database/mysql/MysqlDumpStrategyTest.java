package dev.snapstash.strategy.database.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.Secret;
import dev.snapstash.strategy.database.mysql.MysqlSettings;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MysqlDumpStrategyTest {
  static final String PASSWORD = "s3cr3t\"'\\#x";
  static final Secret SECRET = Secret.ofEnv("MYPW", Map.of("MYPW", PASSWORD));
  static final MysqlSettings CONFIG = new MysqlSettings("db.example.com", 3307, "bitbucket", "bb", SECRET);
  static final Path OPTIONS = Path.of("/tmp/private/client.cnf");

  @Test
  void dumpCommandTakesOneConsistentSnapshotWithTheOptionsFileFirst() {
    Command c = MysqlDumpStrategy.dumpCommand("mariadb-dump", CONFIG, OPTIONS, Path.of("/b/database/dump.sql"));
    assertThat(c.argv()).containsExactly(
        "mariadb-dump", "--defaults-file=/tmp/private/client.cnf", "--single-transaction", "--routines", "--triggers", "--hex-blob",
        "--default-character-set=utf8mb4", "--no-tablespaces", "--max-allowed-packet=1G", "--protocol=TCP",
        "--host=db.example.com", "--port=3307", "--user=bb", "--result-file=/b/database/dump.sql", "bitbucket");
    assertThat(c.environment()).isEmpty();
    assertNoSecret(c);
  }

  @Test
  void restoreCommandFeedsTheDumpOnStandardInput() {
    Command c = MysqlDumpStrategy.restoreCommand("/usr/bin/mariadb", CONFIG, OPTIONS, Path.of("/b/database/dump.sql"));
    assertThat(c.argv()).containsExactly(
        "/usr/bin/mariadb", "--defaults-file=/tmp/private/client.cnf", "--default-character-set=utf8mb4", "--max-allowed-packet=1G",
        "--protocol=TCP", "--host=db.example.com", "--port=3307", "--user=bb", "--batch", "bitbucket");
    assertThat(c.stdinFile()).isEqualTo(Path.of("/b/database/dump.sql"));
    assertNoSecret(c);
  }

  @Test
  void optionsFileQuotesAndEscapesThePassword() {
    assertThat(MysqlDumpStrategy.optionsFile(PASSWORD)).isEqualTo("[client]\npassword=\"s3cr3t\\\"\\'\\\\#x\"\n");
    assertThat(MysqlDumpStrategy.optionsFile("a\nb")).isEqualTo("[client]\npassword=\"a\\nb\"\n");
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of(null, "database.mysql.password is required when database.type is mysql"),
        Arguments.of(new MysqlSettings("h", 3306, "d", "u", null), "database.mysql.password is required when database.type is mysql"),
        Arguments.of(new MysqlSettings("", 3306, "d", "u", SECRET), "database.mysql.host must be a host name or address"),
        Arguments.of(new MysqlSettings("h", 70000, "d", "u", SECRET), "database.mysql.port must be between 1 and 65535, not 70000"),
        Arguments.of(new MysqlSettings("h", 3306, "--all-databases", "u", SECRET), "database.mysql.database must be a database name"),
        Arguments.of(new MysqlSettings("h", 3306, "d", " ", SECRET), "database.mysql.username must be a user name"));
  }

  @ParameterizedTest
  @MethodSource("invalid")
  void invalidConfigurationNamesTheKey(MysqlSettings config, String message) {
    assertThatThrownBy(() -> new MysqlDumpStrategy(config, new ProcessRunner()))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
        .hasMessage(message);
  }

  static void assertNoSecret(Command c) {
    List<String> everything = new ArrayList<>(c.argv());
    everything.addAll(c.environment().values());
    everything.add(c.display());
    assertThat(everything).noneMatch(s -> s.contains("s3cr3t"));
  }
}
