package dev.snapstash.strategy.database.h2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.strategy.database.h2.H2Settings;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class H2BackupStrategyTest {
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "jdbc:h2:file:/var/bb/shared/data/db;AUTO_SERVER=TRUE | /var/bb/shared/data/db",
    "jdbc:h2:/var/bb/shared/data/db                        | /var/bb/shared/data/db",
    "JDBC:H2:FILE:/var/bb/x/../shared/data/db;MODE=MySQL   | /var/bb/shared/data/db",
  })
  void databasePathIsTheUrlsFileWithoutOptions(String url, String path) {
    assertThat(H2BackupStrategy.databasePath(url)).isEqualTo(Path.of(path));
  }

  @Test
  void homeRelativeUrlsExpand() {
    assertThat(H2BackupStrategy.databasePath("jdbc:h2:~/bb/db")).isEqualTo(Path.of(System.getProperty("user.home"), "bb/db"));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "jdbc:h2:mem:test",
    "jdbc:h2:tcp://localhost/~/db",
    "jdbc:postgresql://localhost/db",
  })
  void nonFileUrlsAreRefusedNamingTheKey(String url) {
    assertThatThrownBy(() -> new H2BackupStrategy(new H2Settings(url, "sa", null), Path.of("/var/bb")))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
        .hasMessageContaining("database.h2.url");
  }

  /** The database is H2, whatever the settings record is called: the sentence names the database, not a Java type. */
  @Test
  void aUrlOfAnotherDatabaseIsRefusedAsNotAnH2Url() {
    assertThatThrownBy(() -> new H2BackupStrategy(new H2Settings("jdbc:postgresql://localhost/db", "sa", null), Path.of("/var/bb")))
        .hasMessage("database.h2.url must be an H2 JDBC URL like jdbc:h2:file:/path/to/db, not jdbc:postgresql://localhost/db");
  }

  @Test
  void theUrlIsRequired() {
    assertThatThrownBy(() -> new H2BackupStrategy(null, Path.of("/var/bb")))
        .hasMessage("database.h2.url is required when database.type is h2");
    assertThatThrownBy(() -> new H2BackupStrategy(new H2Settings("jdbc:h2:/x/db", " ", null), Path.of("/var/bb")))
        .hasMessage("database.h2.username must not be empty");
  }

  @Test
  void restorePathFollowsTheHomeTargetOnlyForADatabaseInsideTheHome() {
    Path db = Path.of("/var/bb/shared/data/db");
    assertThat(H2BackupStrategy.restorePath(db, Path.of("/var/bb"), Path.of("/srv/staging")))
        .isEqualTo(Path.of("/srv/staging/shared/data/db"));
    assertThat(H2BackupStrategy.restorePath(Path.of("/data/h2/db"), Path.of("/var/bb"), Path.of("/srv/staging")))
        .isEqualTo(Path.of("/data/h2/db"));
    assertThat(H2BackupStrategy.restorePath(Path.of("/var/bbx/db"), Path.of("/var/bb"), Path.of("/srv/staging")))
        .as("a sibling directory sharing a prefix is not inside")
        .isEqualTo(Path.of("/var/bbx/db"));
  }
}
