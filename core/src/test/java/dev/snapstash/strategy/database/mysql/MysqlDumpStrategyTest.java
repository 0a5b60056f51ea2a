package dev.snapstash.strategy.database.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MysqlDumpStrategyTest {
  static final String PASSWORD = "s3cr3t\"'\\#x";
  static final Secret SECRET = Secret.ofEnv("MYPW", Map.of("MYPW", PASSWORD));

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
}
