package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BitbucketPropertiesTest {
  @TempDir Path home;

  @Test
  void replacesTheKeyKeepsEverythingElseAndThePermissions() throws Exception {
    Path f = home.resolve("shared/bitbucket.properties");
    Files.createDirectories(f.getParent());
    Files.writeString(f, "# written by the installer\njdbc.url=jdbc:postgresql://db/bitbucket\ndisaster.recovery = false\n"
        + "jdbc.password=s3cret\ndisaster.recovery=false\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));

    BitbucketProperties.set(home, "disaster.recovery", "true", "why");

    assertThat(Files.readAllLines(f)).containsExactly(
        "# written by the installer",
        "jdbc.url=jdbc:postgresql://db/bitbucket",
        "disaster.recovery=true",
        "jdbc.password=s3cret",
        "# disaster.recovery=false  (superseded below by snapstash)");
    assertThat(BitbucketProperties.get(home, "disaster.recovery")).isEqualTo("true");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
  }

  @Test
  void appendsAMissingKeyWithItsReason() throws Exception {
    Path f = home.resolve("shared/bitbucket.properties");
    Files.createDirectories(f.getParent());
    Files.writeString(f, "jdbc.user=bitbucket\n");
    BitbucketProperties.set(home, "disaster.recovery", "true", "set by snapstash restore: backup taken without a lock");
    assertThat(Files.readAllLines(f)).containsExactly(
        "jdbc.user=bitbucket", "# set by snapstash restore: backup taken without a lock", "disaster.recovery=true");
    assertThat(BitbucketProperties.get(home, "disaster.recovery.other")).isNull();
  }
}
