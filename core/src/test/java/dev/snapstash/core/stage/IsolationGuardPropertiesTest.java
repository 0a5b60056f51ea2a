package dev.snapstash.core.stage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.spi.DatabaseAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Combinators;

/** The guard's answers do not depend on how a name, a port, a URL or a path is spelled. */
class IsolationGuardPropertiesTest {
  private final IsolationGuard guard = new IsolationGuard(IsolationGuardTest.TABLE);
  private static final Path PROD = Path.of("/nonexistent-snapstash-test/prod/home");

  private static IsolationGuard.Production production() {
    return new IsolationGuard.Production(PROD, URI.create("https://bitbucket.example.com"),
        List.of(DatabaseAddress.parse("jdbc:postgresql://localhost/bitbucket").orElseThrow()));
  }

  @Provide
  Arbitrary<String> loopbackSpellings() {
    Arbitrary<String> host = Arbitraries.of("localhost", "LocalHost", "127.0.0.1", "[::1]", "[0:0:0:0:0:0:0:1]", "this-host.example", "192.168.1.10");
    Arbitrary<String> port = Arbitraries.of("", ":5432");
    return Combinators.combine(host, port).as((h, p) -> "jdbc:postgresql://" + h + p + "/bitbucket");
  }

  @Property
  void everySpellingOfProductionsLocalServerAndNameIsRefused(@ForAll("loopbackSpellings") String url) {
    var s = new IsolationGuard.Staging(Path.of("/nonexistent-snapstash-test/staging"), URI.create("https://s.example.com"),
        DatabaseAddress.parse(url).orElseThrow(), "database.postgresql");
    assertThat(guard.check(production(), s)).extracting(IsolationGuard.Refusal::key).containsExactly("database.postgresql.database");
  }

  @Property
  void anotherDatabaseNameOnTheSameServerIsAllowed(@ForAll("loopbackSpellings") String url, @ForAll("suffixes") String suffix) {
    var s = new IsolationGuard.Staging(Path.of("/nonexistent-snapstash-test/staging"), URI.create("https://s.example.com"),
        DatabaseAddress.parse(url + suffix).orElseThrow(), "database.postgresql");
    assertThat(guard.check(production(), s)).isEmpty();
  }

  @Provide
  Arbitrary<String> suffixes() {
    return Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(8).map(x -> "_" + x);
  }

  @Provide
  Arbitrary<String> baseUrlSpellings() {
    Arbitrary<String> scheme = Arbitraries.of("https", "HTTPS", "Https");
    Arbitrary<String> host = Arbitraries.of("bitbucket.example.com", "BITBUCKET.example.com", "Bitbucket.Example.Com");
    Arbitrary<String> port = Arbitraries.of("", ":443");
    Arbitrary<String> slashes = Arbitraries.of("", "/", "//");
    return Combinators.combine(scheme, host, port, slashes).as((a, b, c, d) -> a + "://" + b + c + d);
  }

  @Property
  void everySpellingOfProductionsBaseUrlIsRefused(@ForAll("baseUrlSpellings") String url) {
    var s = new IsolationGuard.Staging(Path.of("/nonexistent-snapstash-test/staging"), URI.create(url),
        DatabaseAddress.parse("jdbc:postgresql://staging-db.example/bb").orElseThrow(), "database.postgresql");
    assertThat(guard.check(production(), s)).extracting(IsolationGuard.Refusal::key).containsExactly("instance.base-url");
  }

  @Provide
  Arbitrary<List<String>> segments() {
    return Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(6).list().ofMinSize(0).ofMaxSize(4);
  }

  /** Below production's home, at any depth and through '..' detours: refused; beside it: allowed. */
  @Property
  void homesInsideProductionsAreRefusedAndSiblingsAllowed(@ForAll("segments") List<String> below) {
    Path inside = PROD;
    for (String s : below) {
      inside = inside.resolve(s).resolve("..").resolve(s);
    }
    var db = DatabaseAddress.parse("jdbc:postgresql://staging-db.example/bb").orElseThrow();
    var refused = new IsolationGuard.Staging(inside, URI.create("https://s.example.com"), db, "database.postgresql");
    assertThat(guard.check(production(), refused)).extracting(IsolationGuard.Refusal::key).containsExactly("instance.home");
    Path beside = PROD.resolveSibling(PROD.getFileName() + "-staging");
    for (String s : below) {
      beside = beside.resolve(s);
    }
    var allowed = new IsolationGuard.Staging(beside, URI.create("https://s.example.com"), db, "database.postgresql");
    assertThat(guard.check(production(), allowed)).isEmpty();
  }
}
