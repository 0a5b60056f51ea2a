package dev.snapstash.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** restore --jdbc-url: where it points, what it keeps from the configuration, and what it refuses. */
class JdbcTargetTest {
  private static SnapstashConfig config(String type) {
    return ConfigLoader.parse(
        """
        instance: {name: bb, home: /var/bitbucket}
        backup: {root: /backups}
        database:
          type: %s
          postgresql: {host: prod.example.com, port: 5433, database: bitbucket, username: bb, password: "${env:DB_PW}", jobs: 4}
          mysql: {host: prod.example.com, port: 3307, database: bitbucket, username: bb, password: "${env:DB_PW}"}
          h2: {url: "jdbc:h2:file:/var/bitbucket/shared/data/db"}
        """
            .formatted(type),
        "snapstash.yml", Path.of("/etc"), Map.of("DB_PW", "s3cret"));
  }

  @ParameterizedTest
  @CsvSource({
    "jdbc:postgresql://staging:6000/copy,              staging, 6000, copy, ",
    "jdbc:postgresql://staging/copy,                   staging, 5432, copy, ",
    "jdbc:postgresql://[::1]:6000/copy?user=restorer,  ::1,     6000, copy, restorer",
    "JDBC:PostgreSQL://staging:6000/my%20db,           staging, 6000, my db, ",
  })
  void parsesPostgresqlUrls(String url, String host, int port, String database, String user) {
    assertThat(JdbcTarget.parse(url, new JdbcTarget.Shape("postgresql", java.util.List.of("postgresql"), 5432))).isEqualTo(new JdbcTarget.Target(host, port, database, user));
  }

  @ParameterizedTest
  @CsvSource({
    "jdbc:mariadb://staging:6000/copy, 6000",
    "jdbc:mysql://staging/copy,        3306",
  })
  void parsesMariadbAndMysqlUrls(String url, int port) {
    assertThat(JdbcTarget.parse(url, new JdbcTarget.Shape("mysql", java.util.List.of("mariadb", "mysql"), 3306))).isEqualTo(new JdbcTarget.Target("staging", port, "copy", null));
  }

  @Test
  void keepsThePasswordJobsAndUserOfTheConfiguration() {
    SnapstashConfig c = JdbcTarget.override(config("postgresql"), "jdbc:postgresql://staging:6000/copy");
    var p = c.database().settings(dev.snapstash.strategy.database.postgresql.PostgresSettings.class);
    assertThat(p.host()).isEqualTo("staging");
    assertThat(p.port()).isEqualTo(6000);
    assertThat(p.database()).isEqualTo("copy");
    assertThat(p.username()).isEqualTo("bb");
    assertThat(p.password().reveal()).isEqualTo("s3cret");
    assertThat(p.jobs()).isEqualTo(4);
    assertThat(c.instance()).isEqualTo(config("postgresql").instance());

    var m = JdbcTarget.override(config("mysql"), "jdbc:mariadb://staging:6000/copy?user=other").database().settings(dev.snapstash.strategy.database.mysql.MysqlSettings.class);
    assertThat(m.host() + ":" + m.port() + "/" + m.database() + " " + m.username()).isEqualTo("staging:6000/copy other");
    assertThat(m.password().reveal()).isEqualTo("s3cret");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "postgresql | jdbc:postgresql://staging/copy?password=hunter2 | must not carry a password",
        "postgresql | jdbc:postgresql://bb:hunter2@staging/copy       | must not carry credentials",
        "mysql      | jdbc:mariadb://staging/copy?user=x&pwd=hunter2  | must not carry a password",
        "postgresql | jdbc:mariadb://staging/copy                     | is a jdbc:mariadb URL but database.type is postgresql",
        "mysql      | jdbc:postgresql://staging/copy                  | is a jdbc:postgresql URL but database.type is mysql",
        "postgresql | postgresql://staging/copy                       | must look like jdbc:postgresql://HOST[:PORT]/DATABASE",
        "postgresql | jdbc:postgresql://staging/                      | needs a database name",
        "postgresql | jdbc:postgresql:///copy                         | needs one host",
        "postgresql | jdbc:postgresql://staging/copy?ssl=true         | parameter 'ssl' is not supported",
        "h2         | jdbc:h2:file:/tmp/x                             | needs database.type postgresql or mysql, not h2",
      })
  void refusesWithOneSentenceThatNeverRepeatsTheUrl(String type, String url, String message) {
    assertThatThrownBy(() -> JdbcTarget.override(config(type), url))
        .isInstanceOf(SnapstashException.class)
        .hasMessageContaining(message)
        .hasMessageContaining("--jdbc-url")
        .hasMessageNotContaining("hunter2")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.USAGE);
  }
}
