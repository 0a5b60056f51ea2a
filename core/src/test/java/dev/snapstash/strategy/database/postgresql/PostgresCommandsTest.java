package dev.snapstash.strategy.database.postgresql;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.process.Command;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PostgresCommandsTest {
  static final String PASSWORD = "s3cr3t:pa\\ss";
  static final Secret SECRET = Secret.ofEnv("PGPW", Map.of("PGPW", PASSWORD));
  static final PostgresSettings CONFIG = new PostgresSettings("db.example.com", 5433, "bitbucket", "bb", SECRET, 4, "", true);
  static final Path PASS = Path.of("/tmp/private/pgpass");

  @Test
  void dumpIsOneParallelDirectoryDumpWithThePasswordInAFile() {
    Command c = PostgresCommands.dump("pg_dump", CONFIG, Path.of("/b/database/dump"), PASS, Optional.empty());
    assertThat(c.argv()).containsExactly(
        "pg_dump", "-Fd", "-j", "4", "--no-password", "-h", "db.example.com", "-p", "5433", "-U", "bb", "-d", "bitbucket",
        "-f", "/b/database/dump");
    // An inherited PGPASSWORD would win over the file; libpq treats an empty one as unset.
    assertThat(c.environment())
        .containsEntry("PGPASSFILE", "/tmp/private/pgpass")
        .containsEntry("PGPASSWORD", "")
        .containsEntry("PGAPPNAME", "snapstash");
  }

  @Test
  void aDumpFromAPinnedSnapshotNamesIt() {
    Command c = PostgresCommands.dump("pg_dump", CONFIG, Path.of("/b/database/dump"), PASS, Optional.of("00000003-0000001B-1"));
    assertThat(c.argv()).containsSubsequence("-d", "bitbucket", "--snapshot=00000003-0000001B-1", "-f", "/b/database/dump");
  }

  @Test
  void restoreRestoresWithoutOwnersOrGrantsAndStopsAtTheFirstError() {
    Command c = PostgresCommands.restore("/opt/pg/bin/pg_restore", CONFIG, Path.of("/b/database/dump"), PASS, false);
    assertThat(c.argv()).containsExactly(
        "/opt/pg/bin/pg_restore", "-j", "4", "--no-owner", "--no-privileges", "--exit-on-error", "--no-password",
        "-h", "db.example.com", "-p", "5433", "-U", "bb", "-d", "bitbucket", "/b/database/dump");
    assertThat(c.environment()).containsEntry("PGPASSFILE", "/tmp/private/pgpass").containsEntry("PGPASSWORD", "");
  }

  @Test
  void aForcedRestoreCleansFirst() {
    Command c = PostgresCommands.restore("pg_restore", CONFIG, Path.of("/d"), PASS, true);
    assertThat(c.argv()).containsSubsequence("-d", "bitbucket", "--clean", "--if-exists", "/d");
    assertThat(c.argv().get(c.argv().size() - 1)).isEqualTo("/d");
  }

  @Test
  void listReadsTheTableOfContentsWithoutConnecting() {
    Command c = PostgresCommands.list("pg_restore", Path.of("/d"));
    assertThat(c.argv()).containsExactly("pg_restore", "--list", "/d");
    assertThat(c.stdout()).isEqualTo(Command.Output.CAPTURE);
    assertThat(c.timeout()).isNotNull();
  }

  @Test
  void pgpassLineEscapesColonsAndBackslashes() {
    assertThat(PostgresCommands.pgpassLine("b:b", "s3cr3t:pa\\ss")).isEqualTo("*:*:*:b\\:b:s3cr3t\\:pa\\\\ss\n");
  }

  static Stream<Command> everyCommand() {
    Path dir = Path.of("/b/database/dump");
    return Stream.of(
        PostgresCommands.dump("pg_dump", CONFIG, dir, PASS, Optional.empty()),
        PostgresCommands.dump("pg_dump", CONFIG, dir, PASS, Optional.of("00000003-0000001B-1")),
        PostgresCommands.restore("pg_restore", CONFIG, dir, PASS, false),
        PostgresCommands.restore("pg_restore", CONFIG, dir, PASS, true),
        PostgresCommands.list("pg_restore", dir));
  }

  /** The password goes only into the file: never the argv, the environment, or what a log line shows. */
  @ParameterizedTest
  @MethodSource("everyCommand")
  void noCommandCarriesThePassword(Command c) {
    List<String> everything = new ArrayList<>(c.argv());
    everything.addAll(c.environment().values());
    everything.add(c.display());
    assertThat(everything).noneMatch(s -> s.contains(PASSWORD) || s.contains("s3cr3t"));
  }
}
