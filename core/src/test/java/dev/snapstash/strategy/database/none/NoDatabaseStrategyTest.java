package dev.snapstash.strategy.database.none;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.spi.CopyResult;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.strategy.database.DatabaseStrategyContract;
import org.junit.jupiter.api.Test;

class NoDatabaseStrategyTest extends DatabaseStrategyContract {
  @Override
  protected DatabaseStrategy strategy() {
    return new NoDatabaseStrategy();
  }

  @Test
  void backsUpNothingAndWritesNothing() {
    var ctx = backupContext("none");
    CopyResult r = strategy().backup(ctx);
    assertThat(r).isEqualTo(CopyResult.empty("none"));
    assertThat(ctx.backupDir()).doesNotExist();
    strategy().prepareRestore(restoreContext(ctx, tmp.resolve("home"), false));
    strategy().restore(restoreContext(ctx, tmp.resolve("home"), false));
    assertThat(tmp.resolve("home")).doesNotExist();
  }
}
