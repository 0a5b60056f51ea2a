package dev.snapstash.strategy.database.postgresql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.Secret;
import dev.snapstash.strategy.database.postgresql.PostgresSettings;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class PostgresDumpStrategyTest {
  static final String PASSWORD = "s3cr3t:pa\\ss";
  static final Secret SECRET = Secret.ofEnv("PGPW", Map.of("PGPW", PASSWORD));
  static final PostgresSettings CONFIG = new PostgresSettings("db.example.com", 5433, "bitbucket", "bb", SECRET, 4, "", true);
  static final Path PASS = Path.of("/tmp/private/pgpass");

  @Test
  void dumpCommandIsOneParallelDirectoryDumpWithThePasswordInAFile() {
    Command c = PostgresDumpStrategy.dumpCommand("pg_dump", CONFIG, Path.of("/b/database/dump"), PASS);
    assertThat(c.argv()).containsExactly(
        "pg_dump", "-Fd", "-j", "4", "--no-password", "-h", "db.example.com", "-p", "5433", "-U", "bb", "-d", "bitbucket",
        "-f", "/b/database/dump");
    // An inherited PGPASSWORD would win over the file; libpq treats an empty one as unset.
    assertThat(c.environment()).containsEntry("PGPASSFILE", "/tmp/private/pgpass").containsEntry("PGPASSWORD", "");
    assertNoSecret(c);
  }

  @Test
  void restoreCommandRestoresWithoutOwnersAndStopsAtTheFirstError() {
    Command c = PostgresDumpStrategy.restoreCommand("/opt/pg/bin/pg_restore", CONFIG, Path.of("/b/database/dump"), PASS, false);
    assertThat(c.argv()).containsExactly(
        "/opt/pg/bin/pg_restore", "-j", "4", "--no-owner", "--no-privileges", "--exit-on-error", "--no-password",
        "-h", "db.example.com", "-p", "5433", "-U", "bb", "-d", "bitbucket", "/b/database/dump");
    assertThat(c.environment()).containsEntry("PGPASSFILE", "/tmp/private/pgpass");
    assertNoSecret(c);
  }

  @Test
  void aForcedRestoreCleansFirst() {
    Command c = PostgresDumpStrategy.restoreCommand("pg_restore", CONFIG, Path.of("/d"), PASS, true);
    assertThat(c.argv()).containsSubsequence("-d", "bitbucket", "--clean", "--if-exists", "/d");
    assertThat(c.argv().get(c.argv().size() - 1)).isEqualTo("/d");
  }

  @Test
  void listAndVersionCommands() {
    assertThat(PostgresDumpStrategy.listCommand("pg_restore", Path.of("/d")).argv()).containsExactly("pg_restore", "--list", "/d");
    assertThat(PostgresDumpStrategy.versionCommand("pg_dump").argv()).containsExactly("pg_dump", "--version");
  }

  @Test
  void pgpassLineEscapesColonsAndBackslashes() {
    assertThat(PostgresDumpStrategy.pgpassLine("b:b", "s3cr3t:pa\\ss")).isEqualTo("*:*:*:b\\:b:s3cr3t\\:pa\\\\ss\n");
  }

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

  static void assertNoSecret(Command c) {
    List<String> everything = new java.util.ArrayList<>(c.argv());
    everything.addAll(c.environment().values());
    everything.add(c.display());
    assertThat(everything).noneMatch(s -> s.contains(PASSWORD) || s.contains("s3cr3t"));
  }
}
