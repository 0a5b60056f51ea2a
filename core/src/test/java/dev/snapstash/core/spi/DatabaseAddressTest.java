package dev.snapstash.core.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** JDBC URLs as bitbucket.properties and --jdbc-url write them, compared and rewritten. */
class DatabaseAddressTest {
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "jdbc:postgresql://db.example.com:5433/bitbucket                   | postgresql | db.example.com | 5433 | bitbucket",
    "jdbc:postgresql://db.example.com/bitbucket?sslmode=require        | postgresql | db.example.com | 5432 | bitbucket",
    "jdbc:postgresql:bitbucket                                          | postgresql | localhost      | 5432 | bitbucket",
    "jdbc:postgresql:///bitbucket                                       | postgresql | localhost      | 5432 | bitbucket",
    "jdbc:postgresql://[::1]:6000/bb                                    | postgresql | ::1            | 6000 | bb",
    "JDBC:PostgreSQL://DB:5432/bitbucket                                | postgresql | DB             | 5432 | bitbucket",
    "jdbc:mysql://mysql:3306/bitbucket?characterEncoding=utf8&useUnicode=true | mysql | mysql        | 3306 | bitbucket",
    "jdbc:mariadb://127.0.0.1/bitbucket                                 | mariadb    | 127.0.0.1      | 3306 | bitbucket",
  })
  void parsesWhatBitbucketIsConfiguredWith(String url, String scheme, String host, int port, String database) {
    assertThat(DatabaseAddress.parse(url)).contains(new DatabaseAddress(scheme, host, port, database));
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "jdbc:h2:file:/var/atlassian/bitbucket/data/db", "jdbc:oracle:thin:@db:1521:XE",
    "jdbc:sqlserver://db:1433;databaseName=bitbucket", "jdbc:postgresql://a,b/bitbucket", "postgresql://db/bb",
    "jdbc:postgresql://db/", ""
  })
  void anythingElseIsNotAnAddress(String url) {
    assertThat(DatabaseAddress.parse(url)).isEmpty();
  }

  @Test
  void theSameDatabaseHowEverItIsWritten() {
    DatabaseAddress a = new DatabaseAddress("postgresql", "localhost", 5432, "bitbucket");
    assertThat(a.sameDatabaseAs(new DatabaseAddress("postgresql", "127.0.0.1", 5432, "bitbucket"))).isTrue();
    assertThat(a.sameDatabaseAs(new DatabaseAddress("postgresql", "LOCALHOST", 5432, "bitbucket"))).isTrue();
    assertThat(a.sameDatabaseAs(new DatabaseAddress("postgresql", "127.0.0.1", 5433, "bitbucket"))).isFalse();
    assertThat(a.sameDatabaseAs(new DatabaseAddress("postgresql", "127.0.0.1", 5432, "bitbucket_copy"))).isFalse();
    assertThat(a.sameDatabaseAs(new DatabaseAddress("postgresql", "127.0.0.1", 5432, "Bitbucket"))).isFalse();
    assertThat(new DatabaseAddress("mysql", "localhost", 3306, "Bitbucket")
        .sameDatabaseAs(new DatabaseAddress("mariadb", "127.0.0.1", 3306, "bitbucket"))).isTrue();
    assertThat(a.sameDatabaseAs(new DatabaseAddress("mysql", "localhost", 5432, "bitbucket"))).isFalse();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "jdbc:postgresql://prod:5432/bitbucket                       | jdbc:postgresql://copy:6000/staging",
    "jdbc:postgresql://prod/bitbucket?sslmode=require&ssl=true   | jdbc:postgresql://copy:6000/staging?sslmode=require&ssl=true",
    "jdbc:postgresql:bitbucket                                    | jdbc:postgresql://copy:6000/staging",
    "jdbc:h2:file:/x                                              | jdbc:postgresql://copy:6000/staging",
  })
  void rewritingKeepsTheSchemeAndTheParameters(String from, String to) {
    assertThat(new DatabaseAddress("postgresql", "copy", 6000, "staging").rewrite(from)).isEqualTo(to);
  }

  @Test
  void rewritingAMysqlUrlKeepsItsSpellingAndParameters() {
    String url = "jdbc:mysql://prod:3306/bitbucket?characterEncoding=utf8&useUnicode=true&sessionVariables=transaction_isolation='READ-COMMITTED'";
    assertThat(new DatabaseAddress("mysql", "::1", 3307, "bb").rewrite(url))
        .isEqualTo("jdbc:mysql://[::1]:3307/bb?characterEncoding=utf8&useUnicode=true&sessionVariables=transaction_isolation='READ-COMMITTED'");
    assertThat(DatabaseAddress.parse(new DatabaseAddress("mysql", "::1", 3307, "bb").rewrite(url)))
        .isEqualTo(Optional.of(new DatabaseAddress("mysql", "::1", 3307, "bb")));
  }
}
