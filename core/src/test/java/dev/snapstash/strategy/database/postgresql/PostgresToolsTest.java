package dev.snapstash.strategy.database.postgresql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.BackupContext;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.strategy.database.ClientTools;
import dev.snapstash.strategy.database.ClientToolsTest;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresToolsTest {
  private static final ProcessRunner RUNNER = new ProcessRunner();
  @TempDir Path tmp;

  private static PostgresTools.Tool parse(String line) {
    return PostgresTools.parse(new ClientTools.Tool(Path.of("/usr/bin/pg_dump"), line));
  }

  @Test
  void aToolSinceVersion10IsComparedByItsFirstNumber() {
    PostgresTools.Tool t = parse("pg_dump (PostgreSQL) 16.2 (Debian 16.2-1.pgdg120+2)");
    assertThat(t.comparableMajor()).isEqualTo(1600);
    assertThat(t.canDump(160002)).isTrue();
    assertThat(t.canDump(150004)).as("an older server").isTrue();
    assertThat(t.canDump(170000)).as("a newer server").isFalse();
  }

  @Test
  void aToolBefore10IsComparedByItsFirstTwoNumbers() {
    PostgresTools.Tool t = parse("pg_dump (PostgreSQL) 9.6.24");
    assertThat(t.comparableMajor()).isEqualTo(906);
    assertThat(t.canDump(90624)).isTrue();
    assertThat(t.canDump(100000)).isFalse();
    assertThat(parse("pg_dump (PostgreSQL) 17beta1").comparableMajor()).isEqualTo(1700);
  }

  @Test
  void anUnreadableVersionIsOneSentenceNamingTheProgram() {
    assertThatThrownBy(() -> parse("pg_dump: error: unrecognized option"))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.EXTERNAL_COMMAND))
        .hasMessage("/usr/bin/pg_dump --version printed an unexpected line: pg_dump: error: unrecognized option");
  }

  @Test
  void theMismatchSaysWhatToInstallAndWhichKeyPointsAtIt() {
    assertThat(PostgresTools.mismatch(parse("pg_dump (PostgreSQL) 13.1"), "16.2"))
        .isEqualTo("pg_dump (PostgreSQL) 13.1 cannot dump the newer server (PostgreSQL 16.2); install a newer postgresql-client"
            + " or point database.postgresql.bin-dir at one");
  }

  @Test
  void checkReportsEachToolFoundAndEachMissingUnderBinDir() throws Exception {
    Path bin = tmp.resolve("bin");
    ClientToolsTest.fake(bin, "pg_dump", "pg_dump (PostgreSQL) 12.3");
    PostgresTools tools = new PostgresTools(new ClientTools(RUNNER, Optional.of(bin), List.of(), "install postgresql-client or set database.postgresql.bin-dir"));
    Findings f = new Findings();
    assertThat(tools.check(f, "pg_dump")).hasValueSatisfying(t -> assertThat(t.comparableMajor()).isEqualTo(1200));
    assertThat(tools.check(f, "pg_restore")).isEmpty();
    assertThat(f.all()).anyMatch(x -> x.subject().equals("postgresql") && x.message().equals("pg_dump (PostgreSQL) 12.3"));
    assertThat(f.problems()).singleElement().satisfies(p -> {
      assertThat(p.subject()).isEqualTo("database.postgresql.bin-dir");
      assertThat(p.message()).isEqualTo("pg_restore is not installed in " + bin + "; install postgresql-client or set database.postgresql.bin-dir");
    });
  }

  /**
   * The preflight's {@code pg_dump --version} serves the backup's preparation too: one run of the program per
   * backup, not one more just before the lock (docs/performance.md). The server is unreachable here, which the
   * preflight reports and which preparing without dump-after-unlock does not need.
   */
  @Test
  void thePreflightsAnswerServesThePreparation() throws Exception {
    Path bin = tmp.resolve("bin");
    Path pgDump = ClientToolsTest.fake(bin, "pg_dump", "pg_dump (PostgreSQL) 16.2");
    ClientToolsTest.fake(bin, "pg_restore", "pg_restore (PostgreSQL) 16.2");
    Secret secret = Secret.ofEnv("PW", Map.of("PW", "pw"));
    PostgresDumpStrategy strategy = new PostgresDumpStrategy(
        new PostgresSettings("127.0.0.1", 1, "bitbucket", "bitbucket", secret, 2, bin.toString(), false), RUNNER);

    Findings f = new Findings();
    strategy.check(f);
    assertThat(f.problems()).anyMatch(p -> p.message().contains("127.0.0.1:1"));
    BackupContext context = new BackupContext("t", tmp.resolve("backups/t"), Optional.empty(), Progress.NONE);
    try (DatabaseStrategy.Run run = strategy.prepareBackup(context)) {
      assertThat(ClientToolsTest.runs(pgDump)).isEqualTo(1);
    }
  }
}
