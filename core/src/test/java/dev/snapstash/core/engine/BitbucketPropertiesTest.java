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
        "# disaster.recovery=false  (superseded above by snapstash)");
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

  /** What Java's Properties.store writes (escaped colons), and a password with every character that needs care. */
  @Test
  void valuesAreReadAndWrittenAsBitbucketsPropertiesLoaderSeesThem() throws Exception {
    Path f = home.resolve("shared/bitbucket.properties");
    Files.createDirectories(f.getParent());
    Files.writeString(f, "#Mon Dec 07 10:00:00 UTC 2026\njdbc.url=jdbc\\:postgresql\\://db\\:5432/bitbucket\njdbc.user=bitbucket\n");
    assertThat(BitbucketProperties.get(home, "jdbc.url")).isEqualTo("jdbc:postgresql://db:5432/bitbucket");

    String password = " lead\\back:eq=hash#bang!tab\tline\nend\u00e9\u20ac ";
    BitbucketProperties.update(home, java.util.Map.of("jdbc.password", password), java.util.Set.of("jdbc.user"), "test");

    java.util.Properties p = new java.util.Properties();
    try (var r = Files.newBufferedReader(f)) {
      p.load(r);
    }
    assertThat(p.getProperty("jdbc.password")).isEqualTo(password);
    try (var in = Files.newInputStream(f)) {
      java.util.Properties latin1 = new java.util.Properties();
      latin1.load(in);
      assertThat(latin1.getProperty("jdbc.password")).as("read as ISO-8859-1 too").isEqualTo(password);
    }
    assertThat(p.getProperty("jdbc.user")).as("commented out").isNull();
    assertThat(Files.readString(f)).contains("# jdbc.user=bitbucket  (test)");
  }
}
