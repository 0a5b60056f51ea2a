package dev.snapstash.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.cli.e2e.FakeDebian.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's two commands on a fresh Debian machine: {@code deps/ensure-debian-packages}, which the launcher's
 * {@code quickstart}, the tests' build and {@code .ci/run} call, run for real against {@link FakeDebian}'s package
 * tools, as root (installs what is missing, says what and why in one line, leaves no service enabled) and as not
 * (prints the apt-get line and exits 7). Nothing is installed on, or removed from, this machine.
 */
class DebianPackagesTest {
  private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  private static final String DPKG_QUERY = "dpkg-query -W -f=${Package}\\t${db:Status-Status}\\n";
  private static final List<String> QUICKSTART = List.of("git", "rsync");
  private static final String RSYNC_WHY = "rsync (the rsync disk strategy copies the home)";

  @TempDir Path tmp;
  private FakeDebian debian;
  private Path checkout;

  @BeforeEach
  void setUp() throws IOException {
    debian = new FakeDebian(tmp.resolve("debian"));
    // A copy, so that the launcher finds no sources to build and its "jar" is a file that the fake java is given.
    checkout = Files.createDirectories(tmp.resolve("checkout"));
    copy("snapstash");
    copy("cli/src/main/dist/bin/snapstash");
    copy(".ci/run");
    copy("deps/ensure-debian-packages");
    copy("deps/debian-packages");
    copy("README.md");
    Files.createDirectories(checkout.resolve("cli/target"));
    Files.writeString(checkout.resolve("cli/target/snapstash.jar"), "");
  }

  @Test
  void nothingMissingAsksDpkgOnceAndNeverAptGet() throws Exception {
    debian.installed("git", "rsync");

    Result r = ensure("quickstart");

    assertThat(r.exitCode()).isZero();
    assertThat(r.stderr()).isEmpty();
    assertThat(debian.calls()).containsExactly(DPKG_QUERY + " git rsync");
  }

  @Test
  void asRootInstallsWhatIsMissingSayingWhatAndWhyInOneLine() throws Exception {
    debian.installed("git").removedKeepingConfig("rsync");

    Result r = ensure("quickstart");

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stderr()).isEqualTo(
        "snapstash: installing with apt-get what the quickstart needs and this machine lacks: " + RSYNC_WHY + "\n");
    // While apt-get runs, a policy keeps the packages' services from starting; afterwards it is gone.
    assertThat(debian.callsOf("apt-get")).containsExactly(
        "apt-get -q -o DPkg::Lock::Timeout=300 update [DEBIAN_FRONTEND=noninteractive] [policy-rc.d=101]",
        "apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends rsync"
            + " [DEBIAN_FRONTEND=noninteractive] [policy-rc.d=101]");
    assertThat(debian.policyRcD()).doesNotExist();
    assertThat(debian.installedNow()).contains("rsync");
  }

  @Test
  void anAdministratorsOwnServicePolicyIsLeftInPlace() throws Exception {
    Files.writeString(debian.policyRcD(), "#!/bin/sh\nexit 0\n");
    debian.policyRcD().toFile().setExecutable(true);

    Result r = ensure("quickstart");

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(debian.callsOf("apt-get")).allMatch(c -> c.endsWith("[policy-rc.d=0]"));
    assertThat(debian.policyRcD()).hasContent("#!/bin/sh\nexit 0");
  }

  @Test
  void theUnitsThePackagesEnableAreDisabledAndNoOther() throws Exception {
    debian.enabled("ssh.service", "cron.service").enablesOnInstall("postgresql.service", "mariadb.service");

    Result r = ensure("tests");

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(debian.callsOf("systemctl disable")).containsExactlyInAnyOrder(
        "systemctl disable --quiet postgresql.service", "systemctl disable --quiet mariadb.service");
    assertThat(debian.enabledNow()).containsExactlyInAnyOrder("ssh.service", "cron.service");
  }

  @Test
  void notRootPrintsTheAptGetLineAndExits7WithoutInstalling() throws Exception {
    debian.uid(1000).installed("git");

    Result r = ensure("quickstart");

    assertThat(r.exitCode()).isEqualTo(7);
    assertThat(r.stderr()).isEqualTo("snapstash: the quickstart needs what this machine lacks: " + RSYNC_WHY
        + "; not root, so nothing was installed; as root, run:"
        + " apt-get update && apt-get install --no-install-recommends rsync\n");
    assertThat(debian.callsOf("apt-get")).isEmpty();
    assertThat(debian.policyRcD()).doesNotExist();
  }

  @Test
  void rootWithoutAptGetPrintsTheLineAndExits7() throws Exception {
    debian.without("apt-get");

    Result r = ensure("quickstart");

    assertThat(r.exitCode()).isEqualTo(7);
    assertThat(r.stderr()).contains("no apt-get here, so nothing was installed")
        .endsWith("as root, run: apt-get update && apt-get install --no-install-recommends git rsync\n");
  }

  @Test
  void withoutRequireAllTheTestsBuildWarnsAndGoesOn() throws Exception {
    debian.uid(1000);

    Result r = ensure("tests", "--require-all=false");

    assertThat(r.exitCode()).isZero();
    assertThat(r.stderr()).contains("the tests that need them will skip").hasLineCount(1);
    assertThat(debian.callsOf("apt-get")).isEmpty();
  }

  @Test
  void aFailedInstallShowsAptGetsOutputAndExits8() throws Exception {
    debian.aptGetFails();

    Result r = ensure("quickstart");

    assertThat(r.exitCode()).isEqualTo(8);
    assertThat(r.stderr()).contains("E: Unable to locate package")
        .endsWith("snapstash: apt-get could not install git rsync (its output above); install them as root with:"
            + " apt-get update && apt-get install --no-install-recommends git rsync\n");
    assertThat(debian.policyRcD()).doesNotExist();
  }

  @Test
  void skippedTestsNeedNothing() throws Exception {
    debian.uid(1000);

    // What Maven passes for -DskipTests, and for an undefined maven.test.skip.
    Result r = ensure("tests", "--require-all=true", "--skip-if=true", "--skip-if=${maven.test.skip}");

    assertThat(r.exitCode()).isZero();
    assertThat(debian.calls()).isEmpty();
  }

  @Test
  void offDebianItSaysItCannotCheckAndGoesOn() throws Exception {
    debian.uid(1000).without("dpkg-query").without("apt-get");

    Result r = ensure("quickstart");

    assertThat(r.exitCode()).isZero();
    assertThat(r.stderr()).isEqualTo("snapstash: not a Debian system (no dpkg-query), so what the quickstart needs"
        + " is not checked: git rsync (deps/debian-packages)\n");
  }

  @Test
  void theQuickstartNeedsGitAndRsyncTheTestsAllThatCiInstalledBefore() throws Exception {
    ensure("quickstart");
    ensure("tests");

    assertThat(debian.callsOf("dpkg-query").get(0)).isEqualTo(DPKG_QUERY + " " + String.join(" ", QUICKSTART));
    // The list .ci/run installed before the list moved to deps/debian-packages.
    assertThat(debian.callsOf("dpkg-query").get(2).split(" ")).contains(
        "git", "rsync", "zstd", "tar", "curl", "procps", "util-linux", "acl", "postgresql-15",
        "postgresql-client-15", "mariadb-server", "mariadb-client", "btrfs-progs", "age", "restic", "libssl3");
  }

  @Test
  void quickstartAsNotRootStopsWithThePreconditionCodeBeforeTheBuild() throws Exception {
    debian.uid(1000).installed("git");

    Result r = launch("quickstart");

    assertThat(r.exitCode()).isEqualTo(7);
    assertThat(r.stderr()).contains("apt-get update && apt-get install --no-install-recommends rsync")
        .doesNotContain("building the jar");
    assertThat(debian.callsOf("java")).isEmpty();
    assertThat(debian.callsOf("apt-get")).isEmpty();
  }

  @Test
  void quickstartAsRootInstallsWhatItNeedsThenRuns() throws Exception {
    debian.installed("git");

    Result r = launch("--debug", "quickstart", "--keep");

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stderr()).startsWith("snapstash: installing with apt-get what the quickstart needs");
    List<String> calls = debian.calls().stream().filter(c -> c.startsWith("apt-get") || c.startsWith("java")).toList();
    assertThat(calls).hasSize(3);
    assertThat(calls.get(1)).startsWith("apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends rsync ");
    assertThat(calls.get(2)).endsWith(" -jar " + checkout.resolve("cli/target/snapstash.jar") + " --debug quickstart --keep");
  }

  @Test
  void noOtherVerbInstallsAnythingNorAsksDpkg() throws Exception {
    for (List<String> args : List.<List<String>>of(
        List.of("backup"), List.of("-c", "quickstart", "backup"), List.of("--config=quickstart.yml", "restore", "latest"),
        List.of("sandbox", "start"), List.of("quickstart", "--help"), List.of("help", "quickstart"), List.of())) {
      Result r = launch(args.toArray(String[]::new));
      assertThat(r.exitCode()).as("%s: %s", args, r.stderr()).isZero();
    }
    assertThat(debian.callsOf("dpkg-query")).isEmpty();
    assertThat(debian.callsOf("apt-get")).isEmpty();
    assertThat(debian.callsOf("java")).hasSize(7);
  }

  @Test
  void ciInstallsFromTheSameListThenRunsTheReadmesTestCommand() throws Exception {
    debian.installed("git", "rsync", "zstd", "tar", "curl", "procps", "util-linux", "acl", "btrfs-progs", "age",
        "restic", "libssl3").enablesOnInstall("postgresql.service", "mariadb.service");

    Result r = debian.run(checkout, "bash", ".ci/run");

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    List<String> calls = debian.calls().stream().filter(c -> c.startsWith("apt-get") || c.startsWith("mvn")).toList();
    // The README's test command, then the second pass with every native fast path off (see .ci/run).
    assertThat(calls).hasSize(4);
    assertThat(calls.get(1)).startsWith("apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends"
        + " postgresql-15 postgresql-client-15 mariadb-server mariadb-client [DEBIAN_FRONTEND=noninteractive]");
    assertThat(calls.get(2)).isEqualTo("mvn " + readmeTestCommand().substring("mvn ".length()));
    assertThat(calls.get(3)).startsWith("mvn -B -ntp -Dsnapstash.requireAll=true -Dsnapstash.native=off ");
    assertThat(debian.enabledNow()).isEmpty();
  }

  @Test
  void ciAsNotRootStopsBeforeMaven() throws Exception {
    debian.uid(1000);

    Result r = debian.run(checkout, "bash", ".ci/run");

    assertThat(r.exitCode()).isEqualTo(7);
    assertThat(r.stderr()).contains("as root, run: apt-get update && apt-get install --no-install-recommends git rsync");
    assertThat(debian.callsOf("mvn")).isEmpty();
  }

  private Result ensure(String... args) throws IOException, InterruptedException {
    return debian.run(checkout, Stream.concat(Stream.of("deps/ensure-debian-packages"), Stream.of(args))
        .toArray(String[]::new));
  }

  private Result launch(String... args) throws IOException, InterruptedException {
    return debian.run(tmp, Stream.concat(Stream.of(checkout.resolve("snapstash").toString()), Stream.of(args))
        .toArray(String[]::new));
  }

  /** The test command in the README's "The two commands", which .ci/run must run as it is. */
  private static String readmeTestCommand() throws IOException {
    Matcher m = Pattern.compile("(?m)^(mvn [^\\n]*verify)$").matcher(Files.readString(REPO.resolve("README.md")));
    assertThat(m.find()).as("a line starting with mvn and ending in verify in README.md").isTrue();
    return m.group(1);
  }

  private void copy(String file) throws IOException {
    Path target = checkout.resolve(file);
    Files.createDirectories(target.getParent());
    Files.copy(REPO.resolve(file), target, StandardCopyOption.COPY_ATTRIBUTES);
  }
}
