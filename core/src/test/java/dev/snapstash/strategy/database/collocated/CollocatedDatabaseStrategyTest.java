package dev.snapstash.strategy.database.collocated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.strategy.database.collocated.CollocatedSettings;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.strategy.database.DatabaseStrategyContract;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CollocatedDatabaseStrategyTest extends DatabaseStrategyContract {
  private Path home() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve("shared/pgdata"));
    return home;
  }

  @Override
  protected DatabaseStrategy strategy() throws Exception {
    Path home = home();
    return new CollocatedDatabaseStrategy(new CollocatedSettings(home.resolve("shared/pgdata")), home);
  }

  @Test
  void recordsWhereTheDatabaseIsAndCopiesNothingItself() throws Exception {
    var ctx = backupContext("collocated");
    CopyResult r = strategy().backup(ctx);
    assertThat(r.artifacts()).isEmpty();
    assertThat(r.details()).containsEntry("data-directory", "shared/pgdata").containsEntry("copied-by", "disk strategy");
    assertThat(ctx.databaseDir()).doesNotExist();
  }

  @Test
  void aDataDirectoryOutsideTheHomeIsAProblemNamingTheKey() throws Exception {
    Path home = home();
    Path outside = Files.createDirectories(tmp.resolve("elsewhere/pgdata"));
    Findings f = new Findings();
    new CollocatedDatabaseStrategy(new CollocatedSettings(outside), home).check(f);
    assertThat(f.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("database.collocated.data-directory", "not inside"));
  }

  @Test
  void aSymbolicLinkOutOfTheHomeDoesNotCount() throws Exception {
    Path home = home();
    Path outside = Files.createDirectories(tmp.resolve("elsewhere/pgdata"));
    Files.createSymbolicLink(home.resolve("linked"), outside.getParent());
    Findings f = new Findings();
    new CollocatedDatabaseStrategy(new CollocatedSettings(home.resolve("linked/pgdata")), home).check(f);
    assertThat(f.problems()).isNotEmpty();
  }

  @Test
  void theDataDirectoryIsRequired() {
    assertThatThrownBy(() -> new CollocatedDatabaseStrategy(new CollocatedSettings(null), tmp))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
        .hasMessage("database.collocated.data-directory is required when database.type is collocated");
    assertThatThrownBy(() -> new CollocatedDatabaseStrategy(null, tmp)).hasMessageContaining("database.collocated.data-directory");
  }
}
