package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.ConfigLoader;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class FaultPointsTest {
  @Test
  void withTheVariableUnsetEveryPointReturnsAtOnce() {
    assertThat(System.getenv(FaultPoints.ENV)).as("the test JVM runs without a fault point").isNull();
    long t = System.nanoTime();
    for (String p : FaultPoints.ALL) {
      FaultPoints.hit(p);
    }
    assertThat(System.nanoTime() - t).isLessThan(1_000_000_000L);
    assertThat(Thread.currentThread().isInterrupted()).isFalse();
  }

  @Test
  void namesAreDistinctAndTheVariablesAreNotMistakenForConfigurationOverrides() {
    List<String> all = FaultPoints.ALL;
    assertThat(new HashSet<>(all)).hasSameSizeAs(all);
    assertThat(all).allMatch(n -> n.matches("[a-z]+(-[a-z]+)*"));
    assertThat(ConfigLoader.LAUNCHER_VARIABLES).contains(FaultPoints.ENV, FaultPoints.MARKER_ENV);
  }
}
