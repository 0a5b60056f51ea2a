package dev.snapstash.core.stage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.DatabaseAddress;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IsolationGuardTest {
  /** A fixed name table, so that the cases do not depend on this machine's DNS. 192.168.1.10 is "this machine". */
  static final IsolationGuard.Resolver TABLE =
      new IsolationGuard.Resolver() {
        final Map<String, List<String>> names =
            Map.of(
                "localhost", List.of("127.0.0.1", "::1"),
                "db.prod.example", List.of("10.0.0.5"),
                "db-alias.example", List.of("10.0.0.5"),
                "staging-db.example", List.of("10.0.0.9"),
                "this-host.example", List.of("192.168.1.10"));

        @Override
        public Set<InetAddress> resolve(String host) {
          List<String> literal = names.get(host.toLowerCase(java.util.Locale.ROOT));
          List<String> addresses = literal != null ? literal : host.matches("[0-9.:a-fA-F]+") ? List.of(host) : List.of();
          return addresses.stream().map(IsolationGuardTest::ip).collect(Collectors.toSet());
        }

        @Override
        public boolean isLocal(InetAddress address) {
          return address.isLoopbackAddress() || address.equals(ip("192.168.1.10"));
        }
      };

  static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  @TempDir Path tmp;

  final IsolationGuard guard = new IsolationGuard(TABLE);

  private IsolationGuard.Production production(String jdbcUrl) {
    return new IsolationGuard.Production(
        tmp.resolve("prod/home"), URI.create("https://bitbucket.example.com"), List.of(DatabaseAddress.parse(jdbcUrl).orElseThrow()));
  }

  private IsolationGuard.Staging staging(String jdbcUrl) {
    return new IsolationGuard.Staging(
        tmp.resolve("staging/home"), URI.create("https://bitbucket-staging.example.com"),
        DatabaseAddress.parse(jdbcUrl).orElseThrow(), "database.postgresql");
  }

  private List<IsolationGuard.Refusal> check(String prodUrl, String stagingUrl) {
    return guard.check(production(prodUrl), staging(stagingUrl));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:postgresql://localhost/bitbucket",
        "jdbc:postgresql://localhost:5432/bitbucket",
        "jdbc:postgresql://127.0.0.1/bitbucket",
        "jdbc:postgresql://127.0.0.1:5432/bitbucket",
        "jdbc:postgresql://[::1]:5432/bitbucket",
        "jdbc:postgresql://[::1]/bitbucket",
        "jdbc:postgresql:bitbucket",
        "jdbc:postgresql://LOCALHOST/BITBUCKET",
        "jdbc:postgresql://this-host.example/bitbucket",
        "jdbc:postgresql://192.168.1.10:5432/bitbucket"
      })
  void refusesProductionsLocalDatabaseHoweverItIsWritten(String stagingUrl) {
    List<IsolationGuard.Refusal> r = check("jdbc:postgresql://localhost/bitbucket", stagingUrl);
    assertThat(r).singleElement().satisfies(x -> {
      assertThat(x.key()).isEqualTo("database.postgresql.database");
      assertThat(x.message()).contains("is production's database").contains("set database.postgresql.database");
    });
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:postgresql://db.prod.example/bitbucket",
        "jdbc:postgresql://10.0.0.5/bitbucket",
        "jdbc:postgresql://10.0.0.5:5432/bitbucket",
        "jdbc:postgresql://db-alias.example:5432/bitbucket",
        "jdbc:postgresql://DB.PROD.EXAMPLE/bitbucket"
      })
  void refusesProductionsRemoteDatabaseByNameOrAddress(String stagingUrl) {
    assertThat(check("jdbc:postgresql://db.prod.example:5432/bitbucket", stagingUrl))
        .extracting(IsolationGuard.Refusal::key)
        .containsExactly("database.postgresql.database");
  }

  @Test
  void mysqlAndMariadbAreOneServerKindAndTheirDefaultPortCountsWrittenOrNot() {
    assertThat(check("jdbc:mysql://db.prod.example/bitbucket", "jdbc:mariadb://10.0.0.5:3306/BitBucket")).hasSize(1);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:postgresql://localhost/bitbucket_staging", // same server, another database: what the seed recommends
        "jdbc:postgresql://staging-db.example/bitbucket", // another server, the same name
        "jdbc:postgresql://localhost:5433/bitbucket", // another server on this machine
        "jdbc:mysql://localhost/bitbucket" // another product
      })
  void allowsAnotherDatabaseOrAnotherServer(String stagingUrl) {
    assertThat(check("jdbc:postgresql://localhost/bitbucket", stagingUrl)).isEmpty();
  }

  @Test
  void refusesAStagingDatabaseHostThatDoesNotResolve() {
    assertThat(check("jdbc:postgresql://localhost/bitbucket", "jdbc:postgresql://nowhere.invalid/bitbucket"))
        .extracting(IsolationGuard.Refusal::key)
        .containsExactly("database.postgresql.host");
  }

  @Test
  void comparesWithEachDatabaseProductionNames() {
    IsolationGuard.Production p =
        new IsolationGuard.Production(
            tmp.resolve("prod/home"), URI.create("https://bitbucket.example.com"),
            List.of(
                DatabaseAddress.parse("jdbc:postgresql://staging-db.example/other").orElseThrow(),
                DatabaseAddress.parse("jdbc:postgresql://db.prod.example/bitbucket").orElseThrow()));
    assertThat(guard.check(p, staging("jdbc:postgresql://10.0.0.5/bitbucket"))).hasSize(1);
  }

  @Test
  void refusesNoDatabaseServer() {
    IsolationGuard.Staging s =
        new IsolationGuard.Staging(tmp.resolve("s"), URI.create("https://s.example.com"), null, "database.h2");
    assertThat(guard.check(production("jdbc:postgresql://localhost/bb"), s))
        .extracting(IsolationGuard.Refusal::key)
        .containsExactly("database.type");
  }

  // ---- homes

  private List<IsolationGuard.Refusal> homes(Path prod, Path staging) {
    return guard.check(
        new IsolationGuard.Production(prod, URI.create("https://a.example.com"), List.of()),
        new IsolationGuard.Staging(staging, URI.create("https://b.example.com"),
            DatabaseAddress.parse("jdbc:postgresql://staging-db.example/bb").orElseThrow(), "database.postgresql"));
  }

  @Test
  void refusesTheSameHome() throws Exception {
    Path prod = Files.createDirectories(tmp.resolve("prod"));
    assertThat(homes(prod, prod)).singleElement().satisfies(r -> assertThat(r.message()).contains("is production's home"));
    assertThat(homes(prod, tmp.resolve("x/../prod/"))).hasSize(1);
  }

  @Test
  void refusesASymlinkToProductionsHome() throws Exception {
    Path prod = Files.createDirectories(tmp.resolve("prod"));
    Path link = Files.createSymbolicLink(tmp.resolve("staging"), prod);
    assertThat(homes(prod, link)).singleElement().satisfies(r -> {
      assertThat(r.key()).isEqualTo("instance.home");
      assertThat(r.message()).contains("resolved to " + prod.toRealPath()).contains("set instance.home");
    });
  }

  @Test
  void refusesAHomeInsideProductions() throws Exception {
    Path prod = Files.createDirectories(tmp.resolve("prod"));
    assertThat(homes(prod, prod.resolve("staging"))).singleElement()
        .satisfies(r -> assertThat(r.message()).contains("lies inside production's home"));
  }

  @Test
  void refusesAHomeNotCreatedYetBelowALinkIntoProductions() throws Exception {
    Path prod = Files.createDirectories(tmp.resolve("prod"));
    Path link = Files.createSymbolicLink(tmp.resolve("staging-parent"), prod);
    assertThat(homes(prod, link.resolve("not/yet/there"))).singleElement()
        .satisfies(r -> assertThat(r.message()).contains("lies inside production's home"));
  }

  @Test
  void refusesAHomeContainingProductions() throws Exception {
    Path prod = Files.createDirectories(tmp.resolve("all/prod"));
    Files.createDirectories(prod.resolve("shared"));
    Files.writeString(prod.resolve("shared/bitbucket.properties"), "");
    Files.createDirectories(tmp.resolve("all/shared"));
    Files.writeString(tmp.resolve("all/shared/bitbucket.properties"), "");
    assertThat(homes(prod, tmp.resolve("all"))).singleElement()
        .satisfies(r -> assertThat(r.message()).contains("contains production's home"));
  }

  @Test
  void allowsASiblingWhoseNameStartsTheSame() throws Exception {
    Path prod = Files.createDirectories(tmp.resolve("home"));
    assertThat(homes(prod, tmp.resolve("home-staging"))).isEmpty();
  }

  @Test
  void refusesToReplaceADirectoryThatIsNotABitbucketHome() throws Exception {
    Path prod = Files.createDirectories(tmp.resolve("prod"));
    Path srv = Files.createDirectories(tmp.resolve("srv"));
    Files.writeString(srv.resolve("other-service.conf"), "x");
    assertThat(homes(prod, srv)).singleElement()
        .satisfies(r -> assertThat(r.message()).contains("holds files but no shared/bitbucket.properties"));
    Path earlier = Files.createDirectories(tmp.resolve("earlier/shared"));
    Files.writeString(earlier.resolve("bitbucket.properties"), "jdbc.url=x\n");
    assertThat(homes(prod, earlier.getParent())).isEmpty();
    assertThat(homes(prod, Files.createDirectories(tmp.resolve("empty")))).isEmpty();
  }

  // ---- base URLs

  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://bitbucket.example.com",
        "https://bitbucket.example.com/",
        "HTTPS://Bitbucket.Example.COM",
        "https://bitbucket.example.com:443/",
        "https://bitbucket.example.com.//"
      })
  void refusesProductionsBaseUrlHoweverItIsWritten(String stagingUrl) {
    var s = new IsolationGuard.Staging(tmp.resolve("s"), URI.create(stagingUrl),
        DatabaseAddress.parse("jdbc:postgresql://staging-db.example/bb").orElseThrow(), "database.postgresql");
    assertThat(guard.check(production("jdbc:postgresql://localhost/bb"), s)).singleElement()
        .satisfies(r -> assertThat(r.key()).isEqualTo("instance.base-url"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://bitbucket.example.com", "https://bitbucket.example.com:8443", "https://bitbucket.example.com/staging"})
  void allowsAnotherSchemePortOrPath(String stagingUrl) {
    var s = new IsolationGuard.Staging(tmp.resolve("s"), URI.create(stagingUrl),
        DatabaseAddress.parse("jdbc:postgresql://staging-db.example/bb").orElseThrow(), "database.postgresql");
    assertThat(guard.check(production("jdbc:postgresql://localhost/bb"), s)).isEmpty();
  }

  @Test
  void requireThrowsConfigWithEveryRefusal() throws Exception {
    Path prod = Files.createDirectories(tmp.resolve("prod"));
    var p = new IsolationGuard.Production(prod, URI.create("https://bitbucket.example.com"),
        List.of(DatabaseAddress.parse("jdbc:postgresql://localhost/bb").orElseThrow()));
    var s = new IsolationGuard.Staging(prod, URI.create("https://bitbucket.example.com/"),
        DatabaseAddress.parse("jdbc:postgresql://127.0.0.1:5432/bb").orElseThrow(), "database.postgresql");
    assertThatThrownBy(() -> guard.require(p, s, "staging.yml"))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
          assertThat(e.getMessage()).startsWith("staging.yml: instance.home ");
          assertThat(Stream.of(e.getSuppressed()).map(Throwable::getMessage))
              .hasSize(2)
              .anySatisfy(m -> assertThat(m).contains("instance.base-url"))
              .anySatisfy(m -> assertThat(m).contains("database.postgresql.database"));
        });
  }
}
