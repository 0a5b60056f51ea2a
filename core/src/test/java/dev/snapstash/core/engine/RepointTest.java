package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.spi.DatabaseAddress;
import dev.snapstash.core.spi.JdbcLogin;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A restored home names the database the restore wrote, never the backed-up one, unless told to keep it. */
class RepointTest {
  @TempDir Path home;
  Path file;
  final JdbcLogin copy =
      new JdbcLogin(new DatabaseAddress("postgresql", "10.0.0.9", 6000, "bb_copy"), "copy_user",
          Secret.ofEnv("PW", Map.of("PW", "n3w:p\\w")));

  @BeforeEach
  void properties() throws Exception {
    file = home.resolve("shared/bitbucket.properties");
    Files.createDirectories(file.getParent());
    Files.writeString(file, "setup.displayName=Bitbucket\njdbc.driver=org.postgresql.Driver\n"
        + "jdbc.url=jdbc\\:postgresql\\://prod.example.com\\:5432/bitbucket?sslmode=require\njdbc.user=bitbucket\n"
        + "jdbc.password=production-secret\n");
  }

  private java.util.Properties read() throws Exception {
    java.util.Properties p = new java.util.Properties();
    try (var r = Files.newBufferedReader(file)) {
      p.load(r);
    }
    return p;
  }

  @Test
  void anotherDatabaseIsWrittenInWithItsUserAndPassword() throws Exception {
    Repoint.Result r = Repoint.apply(home, copy, false).orElseThrow();

    assertThat(r.rewritten()).isTrue();
    assertThat(r.warning()).isNull();
    java.util.Properties p = read();
    assertThat(p.getProperty("jdbc.url")).isEqualTo("jdbc:postgresql://10.0.0.9:6000/bb_copy?sslmode=require");
    assertThat(p.getProperty("jdbc.user")).isEqualTo("copy_user");
    assertThat(p.getProperty("jdbc.password")).isEqualTo("n3w:p\\w");
    assertThat(p.getProperty("jdbc.driver")).isEqualTo("org.postgresql.Driver");
    assertThat(p.getProperty("setup.displayName")).isEqualTo("Bitbucket");
    assertThat(r.changes()).extracting(Repoint.Change::key).containsExactly("jdbc.url", "jdbc.user", "jdbc.password");
    assertThat(r.changes().toString()).doesNotContain("production-secret").doesNotContain("n3w");
  }

  @Test
  void theSameDatabaseWrittenAnotherWayIsLeftAlone() throws Exception {
    Files.writeString(file, "jdbc.url=jdbc:postgresql://localhost/bitbucket\njdbc.user=bitbucket\njdbc.password=x\n");
    String before = Files.readString(file);
    JdbcLogin same = new JdbcLogin(new DatabaseAddress("postgresql", "127.0.0.1", 5432, "bitbucket"), "other", copy.password());

    assertThat(Repoint.apply(home, same, false)).isEmpty();
    assertThat(Files.readString(file)).isEqualTo(before);
  }

  @Test
  void keptOnRequestWithAWarningThatNamesBothDatabases() throws Exception {
    String before = Files.readString(file);
    Repoint.Result r = Repoint.apply(home, copy, true).orElseThrow();

    assertThat(r.kept()).isTrue();
    assertThat(r.rewritten()).isFalse();
    assertThat(r.warning()).contains("bitbucket at prod.example.com:5432").contains("bb_copy at 10.0.0.9:6000")
        .contains("--keep-properties");
    assertThat(Files.readString(file)).isEqualTo(before);
  }

  @Test
  void aBase64EncodedPasswordIsWrittenTheSameWay() throws Exception {
    Files.writeString(file, Files.readString(file)
        + "jdbc.password.decrypter.classname=com.atlassian.db.config.password.ciphers.base64.Base64Cipher\n");
    Repoint.Result r = Repoint.apply(home, copy, false).orElseThrow();

    assertThat(r.warning()).isNull();
    assertThat(new String(Base64.getDecoder().decode(read().getProperty("jdbc.password")), StandardCharsets.UTF_8)).isEqualTo("n3w:p\\w");
    assertThat(read().getProperty("jdbc.password.decrypter.classname")).endsWith("Base64Cipher");
  }

  @Test
  void aPasswordEncryptedWithKeysSnapstashLacksBecomesPlainWithAWarning() throws Exception {
    Files.writeString(file, Files.readString(file)
        + "jdbc.password.decrypter.classname=com.atlassian.db.config.password.ciphers.algorithm.AlgorithmCipher\n");
    Repoint.Result r = Repoint.apply(home, copy, false).orElseThrow();

    assertThat(read().getProperty("jdbc.password")).isEqualTo("n3w:p\\w");
    assertThat(read().getProperty("jdbc.password.decrypter.classname")).isNull();
    assertThat(r.warning()).contains("plain text").contains("AlgorithmCipher");
  }

  @Test
  void anEmbeddedDatabaseOrNoPropertiesIsNothingToDo() throws Exception {
    Files.writeString(file, "setup.displayName=Bitbucket\n");
    assertThat(Repoint.apply(home, copy, false)).isEqualTo(Optional.empty());
    Files.delete(file);
    assertThat(Repoint.apply(home, copy, false)).isEqualTo(Optional.empty());
  }
}
