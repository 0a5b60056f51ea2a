package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.util.FaultPoints;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.strategy.database.h2.H2BackupStrategy;
import dev.snapstash.strategy.database.mysql.MysqlDumpStrategy;
import dev.snapstash.testing.MariaDbFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The SIGKILL half of {@link FaultMatrixIT} on the sandbox's other databases, MariaDB ({@code database.type:
 * mysql}) and the embedded H2, at the two points where what differs between databases is in the partial backup:
 *
 * <ul>
 *   <li>{@code during-home-copy}: under the lock, the database copy runs beside the home copy (mariadb-dump
 *       writing {@code dump.sql}, killed with the JVM; H2's {@code BACKUP TO} running inside the instance's own
 *       database server, which a dead client does not stop);
 *   <li>{@code after-copy-under-lock}: the database copy is complete in a backup that is not, still locked.
 * </ul>
 *
 * The other points are the quiescer's and the engine's, which do not look at the database (PostgreSQL's own,
 * {@code during-database-copy} and {@code before-database-dump} with a pinned snapshot, have no counterpart: these
 * two strategies copy wholly under the lock). Without push load: the matrix's PostgreSQL rows have it, and here it
 * would only share two cores with the dump.
 */
class FaultMatrixDatabasesIT {
  @RegisterExtension static final MariaDbFixture MARIADB = new MariaDbFixture();

  @TempDir static Path tmp;

  private static final Map<DbKind, Scenario> SANDBOXES = new EnumMap<>(DbKind.class);

  static Stream<Arguments> cases() {
    List<Arguments> all = new ArrayList<>();
    for (DbKind kind : List.of(DbKind.MARIADB, DbKind.H2)) {
      for (String point : List.of(FaultPoints.DURING_HOME_COPY, FaultPoints.AFTER_COPY_UNDER_LOCK)) {
        all.add(Arguments.of(kind, point));
      }
    }
    return all.stream();
  }

  /** One sandbox per database, started on first use with a first good backup (so there is one to keep). */
  private static Scenario sandbox(DbKind kind) {
    return SANDBOXES.computeIfAbsent(kind, k -> {
      Scenario s = Scenario.start(tmp.resolve(k.name().toLowerCase(Locale.ROOT)), k, k == DbKind.H2 ? null : MARIADB.newDatabase());
      Scenario.Run first = snapstash("-c", s.config().toString(), "backup");
      assertThat(first.exit()).as(first.err()).isZero();
      return s;
    });
  }

  @AfterAll
  static void stopSandboxes() {
    SANDBOXES.values().forEach(Scenario::close);
    SANDBOXES.clear();
  }

  @ParameterizedTest(name = "SIGKILL at {1} on {0}")
  @MethodSource("cases")
  void sigkillIsRecovered(DbKind kind, String point) throws Exception {
    Scenario s = sandbox(kind);
    String config = s.config().toString();
    List<String> before = completeTags(config);

    FaultMatrixIT.Stopped run = FaultMatrixIT.stopAt(s.config(), point, tmp);
    run.kill();

    assertThat(s.sandbox.maintenance().isLocked()).as("SIGKILL runs no clean-up").isTrue();
    assertThat(Journal.file(s.backups())).exists();
    List<Path> partial = backups(s).stream().filter(d -> !before.contains(d.getFileName().toString())).toList();
    assertThat(partial).as("the killed run's partial backup").hasSize(1);
    if (point.equals(FaultPoints.AFTER_COPY_UNDER_LOCK)) {
      String dump = kind == DbKind.H2 ? H2BackupStrategy.BACKUP_FILE : MysqlDumpStrategy.DUMP_FILE;
      assertThat(partial.get(0).resolve("database").resolve(dump)).as("the database copy, complete").isNotEmptyFile();
    }
    Scenario.Run refused = snapstash("-c", config, "backup");
    assertThat(refused.exit()).as(refused.err()).isEqualTo(7);
    assertThat(refused.err()).contains("snapstash recover");

    Scenario.Run recover = snapstash("-c", config, "recover");
    assertThat(recover.exit()).as(recover.err()).isZero();
    assertThat(recover.out()).contains("unlock").contains("remove the partial backup");
    assertThat(s.sandbox.maintenance().isLocked()).isFalse();
    assertThat(Journal.file(s.backups())).doesNotExist();
    assertThat(completeTags(config)).as("recover removed the killed run's backup and nothing else").isEqualTo(before);
    assertThat(backups(s)).extracting(d -> d.getFileName().toString()).containsExactlyInAnyOrderElementsOf(before);

    Scenario.Run next = snapstash("-c", config, "backup");
    assertThat(next.exit()).as(next.err()).isZero();
    Scenario.Run verify = snapstash("-c", config, "verify");
    assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
  }

  /** Backup directories, not snapstash's own (hidden) ones. */
  private static List<Path> backups(Scenario s) throws Exception {
    return s.backupDirs().stream().filter(d -> !d.getFileName().toString().startsWith(".")).toList();
  }

  private static List<String> completeTags(String config) {
    List<String> tags = new ArrayList<>();
    for (JsonNode m : snapstash("-c", config, "--json", "list").json()) {
      assertThat(m.path("state").asText().toLowerCase(Locale.ROOT)).as("state of %s", m.path("tag").asText()).isEqualTo("complete");
      tags.add(m.path("tag").asText());
    }
    return tags;
  }
}
