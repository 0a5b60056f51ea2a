package dev.snapstash.strategy.database.postgresql;

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
import org.junit.jupiter.api.Test;

class PostgresDumpStrategyTest {
  static final String PASSWORD = "s3cr3t:pa\\ss";
  static final Secret SECRET = Secret.ofEnv("PGPW", Map.of("PGPW", PASSWORD));

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of(null, "database.postgresql.password is required when database.type is postgresql"),
        Arguments.of(new PostgresSettings("h", 5432, "d", "u", null, 2, "", true), "database.postgresql.password is required when database.type is postgresql"),
        Arguments.of(new PostgresSettings(" ", 5432, "d", "u", SECRET, 2, "", true), "database.postgresql.host must not be empty"),
        Arguments.of(new PostgresSettings("h", 0, "d", "u", SECRET, 2, "", true), "database.postgresql.port must be between 1 and 65535, not 0"),
        Arguments.of(new PostgresSettings("h", 5432, "", "u", SECRET, 2, "", true), "database.postgresql.database must not be empty"),
        Arguments.of(new PostgresSettings("h", 5432, "host=evil dbname=x", "u", SECRET, 2, "", true),
            "database.postgresql.database must be a plain database name, not a connection string: host=evil dbname=x"),
        Arguments.of(new PostgresSettings("h", 5432, "d", "", SECRET, 2, "", true), "database.postgresql.username must be a user name"),
        Arguments.of(new PostgresSettings("h", 5432, "d", "u", SECRET, 0, "", true), "database.postgresql.jobs must be between 1 and 64, not 0"),
        Arguments.of(new PostgresSettings("h", 5432, "d", "u", SECRET, 2, "/no/such/dir", true), "database.postgresql.bin-dir /no/such/dir is not a directory"));
  }

  @ParameterizedTest
  @MethodSource("invalid")
  void invalidConfigurationNamesTheKey(PostgresSettings config, String message) {
    assertThatThrownBy(() -> new PostgresDumpStrategy(config, new ProcessRunner()))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
        .hasMessage(message);
  }
}
