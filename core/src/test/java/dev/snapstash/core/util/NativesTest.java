package dev.snapstash.core.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import org.junit.jupiter.api.Test;

class NativesTest {
  @Test
  void unsetOrAutoTriesTheNativePaths() {
    assertThat(Natives.forcedOff(null, null)).isEmpty();
    assertThat(Natives.forcedOff("", " ")).isEmpty();
    assertThat(Natives.forcedOff("auto", null)).isEmpty();
    assertThat(Natives.forcedOff(null, "AUTO")).isEmpty();
  }

  @Test
  void offByThePropertyOrTheVariableSaysWhichOne() {
    assertThat(Natives.forcedOff("off", null)).contains("-Dsnapstash.native=off");
    assertThat(Natives.forcedOff(null, " Off ")).contains("SNAPSTASH_NATIVE=off");
  }

  /** As an option on the command line wins over the environment. */
  @Test
  void thePropertyWinsOverTheVariable() {
    assertThat(Natives.forcedOff("auto", "off")).isEmpty();
    assertThat(Natives.forcedOff("off", "auto")).contains("-Dsnapstash.native=off");
  }

  @Test
  void anUnknownValueIsAConfigurationErrorNamingWhereItWasSet() {
    assertThatThrownBy(() -> Natives.forcedOff(null, "fast"))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
        .hasMessage("SNAPSTASH_NATIVE=fast is not a valid value: set SNAPSTASH_NATIVE to auto (native fast paths where"
            + " they load, the default) or off (their Java fallbacks)");
    assertThatThrownBy(() -> Natives.forcedOff("no", "off"))
        .isInstanceOf(SnapstashException.class)
        .hasMessageStartingWith("-Dsnapstash.native=no is not a valid value: set -Dsnapstash.native to auto");
  }

  /** Else a backup run with SNAPSTASH_NATIVE=off would be refused as an override of no key. */
  @Test
  void theVariableIsNoConfigurationOverride() {
    assertThat(ConfigLoader.LAUNCHER_VARIABLES).contains(Natives.VARIABLE);
  }

  @Test
  void aChoiceDescribesItsPathAndWhy() {
    assertThat(new Natives.Choice("sha256", false, "JDK MessageDigest", "SNAPSTASH_NATIVE=off").describe())
        .isEqualTo("JDK MessageDigest (SNAPSTASH_NATIVE=off)");
    assertThat(new Natives.Choice("sha256", true, "native", "").describe()).isEqualTo("native");
  }
}
