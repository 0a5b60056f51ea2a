package dev.snapstash.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.cli.e2e.FakeDebian.Result;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tests' build brings the Debian packages the tests need (README, "The two commands"): the root project, run by
 * a real Maven up to the phase before the tests, against {@link FakeDebian}'s package tools. Only the root project
 * ({@code -N}): that is where the check runs, before any module compiles.
 */
class DebianPackagesBuildIT {
  private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

  @TempDir Path tmp;
  private FakeDebian debian;

  @BeforeEach
  void setUp() throws IOException {
    debian = new FakeDebian(tmp).installed("git", "rsync", "zstd", "tar", "curl", "procps", "util-linux", "acl",
        "postgresql-client-15", "mariadb-client", "btrfs-progs", "age", "restic", "libssl3");
    // The real ones run Maven.
    debian.without("java").without("mvn");
  }

  @Test
  void notRootUnderRequireAllTheBuildFailsNamingTheAptGetLine() throws Exception {
    debian.uid(1000);

    Result r = mvn("-Dsnapstash.requireAll=true");

    assertThat(r.exitCode()).as(r.stdout()).isNotZero();
    assertThat(r.stdout()).contains("[ERROR] Failed to execute goal org.apache.maven.plugins:maven-antrun-plugin")
        .contains("snapstash: the tests need what this machine lacks: postgresql-15 (private PostgreSQL servers for"
            + " the database tests), mariadb-server (private MariaDB servers for the database tests); not root, so"
            + " nothing was installed; as root, run: apt-get update && apt-get install --no-install-recommends"
            + " postgresql-15 mariadb-server")
        .doesNotContain("Exception:");
    assertThat(debian.callsOf("apt-get")).isEmpty();
  }

  @Test
  void notRootWithoutRequireAllTheBuildWarnsAndGoesOn() throws Exception {
    debian.uid(1000);

    Result r = mvn();

    assertThat(r.exitCode()).as(r.stdout()).isZero();
    assertThat(r.stdout()).contains("[WARNING]").contains("the tests that need them will skip");
  }

  @Test
  void asRootTheBuildInstallsWhatIsMissingAndGoesOn() throws Exception {
    Result r = mvn("-Dsnapstash.requireAll=true");

    assertThat(r.exitCode()).as(r.stdout()).isZero();
    assertThat(r.stdout()).contains(
        "snapstash: installing with apt-get what the tests need and this machine lacks: postgresql-15");
    assertThat(debian.callsOf("apt-get")).hasSize(2);
    assertThat(debian.installedNow()).contains("postgresql-15", "mariadb-server");
  }

  @Test
  void withoutTestsNothingIsCheckedNorInstalled() throws Exception {
    for (String skip : new String[] {"-DskipTests", "-Dmaven.test.skip=true"}) {
      Result r = mvn("-Dsnapstash.requireAll=true", skip);
      assertThat(r.exitCode()).as(r.stdout()).isZero();
    }
    assertThat(debian.calls()).isEmpty();
  }

  private Result mvn(String... options) throws IOException, InterruptedException {
    String[] command = Stream.concat(
            Stream.of("mvn", "-B", "-ntp", "-N", "-f", REPO.resolve("pom.xml").toString()), Stream.of(options))
        .toArray(String[]::new);
    String[] withPhase = Stream.concat(Stream.of(command), Stream.of("process-test-classes")).toArray(String[]::new);
    return debian.runBeforeRealPath(REPO, Map.of(), withPhase);
  }
}
