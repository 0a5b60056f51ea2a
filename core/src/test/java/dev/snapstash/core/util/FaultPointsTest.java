package dev.snapstash.core.util;

import dev.snapstash.core.util.FaultPoints;
import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.spi.Findings;
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

  /** Production: neither set. A test: both. Anything else refuses the run, naming what to unset. */
  @Test
  void onlyTheVariableAndTheJvmPropertyTogetherArmAPoint() {
    assertThat(FaultPoints.problem(null, null)).isEmpty();
    assertThat(FaultPoints.problem(FaultPoints.AFTER_LOCK, FaultPoints.ARMED)).isEmpty();

    assertThat(FaultPoints.problem(FaultPoints.AFTER_LOCK, null))
        .hasValueSatisfying(m -> assertThat(m).contains("SNAPSTASH_FAULT_POINT", "after-lock", "unset"));
    assertThat(FaultPoints.problem(FaultPoints.AFTER_LOCK, "yes"))
        .as("only the one value arms")
        .hasValueSatisfying(m -> assertThat(m).contains("SNAPSTASH_FAULT_POINT", "-Dsnapstash.faultInjection"));
    assertThat(FaultPoints.problem(null, FaultPoints.ARMED))
        .hasValueSatisfying(m -> assertThat(m).contains("snapstash.faultInjection", "SNAPSTASH_FAULT_POINT"));
    assertThat(FaultPoints.problem("", FaultPoints.ARMED)).isPresent();
    assertThat(FaultPoints.problem("after-lok", FaultPoints.ARMED))
        .hasValueSatisfying(m -> assertThat(m).contains("after-lok", "names no fault point", "after-lock"));
  }

  @Test
  void theTestJvmIsNeitherArmedNorRefused() {
    Findings f = new Findings();
    FaultPoints.check(f);
    assertThat(f.all()).isEmpty();
  }
}
