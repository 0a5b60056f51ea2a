package dev.snapstash.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code ./snapstash} launcher: the JVM options it gives, and the class data sharing archive it builds. */
class LauncherIT {
  private static final Path LAUNCHER = Path.of("..", "snapstash").toAbsolutePath().normalize();
  private static final Path JAR = Path.of("target", "snapstash.jar");
  private static final Path ARCHIVE = Path.of("target", "snapstash.jsa");

  @TempDir Path tmp;

  @Test
  void runsC1OnlyWithTheClassesOfABackupMappedFromAnArchiveBuiltAfterTheJar() throws Exception {
    requireFreshJar();
    Files.deleteIfExists(ARCHIVE);
    Files.deleteIfExists(Path.of("target", "snapstash.jsa.failed"));

    // -Xshare:on makes an archive that does not map an error instead of a silent fallback.
    String out = launch("-Xshare:on -Xlog:class+load=info -XX:+PrintFlagsFinal", "--version");
    assertThat(ARCHIVE).as("the archive the launcher built").exists();
    assertThat(Files.getLastModifiedTime(ARCHIVE)).isGreaterThanOrEqualTo(Files.getLastModifiedTime(JAR));
    assertThat(out).containsPattern("TieredStopAtLevel\\s+= 1\\s");
    assertThat(out).contains("dev.snapstash.cli.Main source: shared objects file");
    assertThat(out).contains("snapstash ");

    // A newer jar makes the launcher build the archive again rather than start with one the JVM would refuse.
    FileTime before = Files.getLastModifiedTime(ARCHIVE);
    Files.setLastModifiedTime(JAR, FileTime.fromMillis(before.toMillis() + 2000));
    out = launch("-Xshare:on -Xlog:class+load=info", "--version");
    assertThat(Files.getLastModifiedTime(ARCHIVE)).isGreaterThan(before);
    assertThat(out).contains("dev.snapstash.cli.Main source: shared objects file");
  }

  @Test
  void optionsGivenInTheEnvironmentComeLastAndWin() throws Exception {
    requireFreshJar();
    String out = launch("-XX:TieredStopAtLevel=4 -Xshare:off -Xlog:class+load=info -XX:+PrintFlagsFinal", "--version");
    assertThat(out).containsPattern("TieredStopAtLevel\\s+= 4\\s");
    assertThat(out).doesNotContain("source: shared objects file");
  }

  /**
   * What an installed copy runs: the JVM with the same options, on the jar in {@code SNAPSTASH_LIB}, and never a
   * build, however old that jar is (a Maven on the PATH that would be called records it).
   */
  @Test
  void theRunScriptOfAnInstalledCopyNeverBuildsAndBuildsItsArchiveBesideTheJar() throws Exception {
    requireFreshJar();
    Path lib = Files.createDirectories(tmp.resolve("lib"));
    Files.copy(JAR, lib.resolve("snapstash.jar"));
    Files.copy(Path.of("src", "cds", "backup.classlist"), lib.resolve("backup.classlist"));
    Files.setLastModifiedTime(lib.resolve("snapstash.jar"), FileTime.fromMillis(0));
    Files.setLastModifiedTime(lib.resolve("backup.classlist"), FileTime.fromMillis(0));
    Path bin = Files.createDirectories(tmp.resolve("fake-bin"));
    Path called = tmp.resolve("mvn-called");
    Files.writeString(bin.resolve("mvn"), "#!/bin/sh\ntouch " + called + "\nexit 1\n");
    Files.setPosixFilePermissions(bin.resolve("mvn"), java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));

    Run run = run(RUN_SCRIPT, java.util.Map.of(
        "SNAPSTASH_LIB", lib.toString(),
        "PATH", bin + ":" + System.getenv("PATH"),
        "SNAPSTASH_JAVA_OPTS", "-Xshare:on -Xlog:class+load=info -XX:+PrintFlagsFinal"), "--version");
    assertThat(run.exit()).as(run.out()).isZero();
    assertThat(run.out()).contains("snapstash ").containsPattern("TieredStopAtLevel\\s+= 1\\s");
    assertThat(run.out()).contains("dev.snapstash.cli.Main source: shared objects file");
    assertThat(lib.resolve("snapstash.jsa")).exists();
    assertThat(called).as("Maven called by the run script").doesNotExist();

    Run none = run(RUN_SCRIPT, java.util.Map.of("SNAPSTASH_LIB", tmp.resolve("empty").toString()), "--version");
    assertThat(none.exit()).isEqualTo(7);
    assertThat(none.out()).contains("no snapstash.jar in " + tmp.resolve("empty")).contains("SNAPSTASH_LIB");
  }

  /**
   * The development launcher hands the run script the jar's directory in SNAPSTASH_LIB, which the JVM then sees
   * too: a verb that reads the configuration must not take it for an override of no key.
   */
  @Test
  void aVerbStartedThroughTheLauncherReadsItsConfigurationUndisturbed() throws Exception {
    requireFreshJar();
    Path config = tmp.resolve("snapstash.yml");
    Files.writeString(config, "instance:\n  name: bb\n  home: " + tmp.resolve("home") + "\nbackup:\n  root: "
        + tmp.resolve("backups") + "\n");
    Files.createDirectories(tmp.resolve("home"));
    Run list = run(LAUNCHER, java.util.Map.of(), "-c", config.toString(), "list");
    assertThat(list.exit()).as(list.out()).isZero();
    assertThat(list.out()).doesNotContain("SNAPSTASH_LIB").doesNotContain("building the jar");
  }

  private static final Path RUN_SCRIPT = Path.of("src", "main", "dist", "bin", "snapstash").toAbsolutePath();

  private record Run(int exit, String out) {}

  private Run run(Path script, java.util.Map<String, String> env, String... args) throws IOException, InterruptedException {
    Path log = tmp.resolve("run-" + System.nanoTime() + ".txt");
    ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of(script.toString()), Stream.of(args)).toList());
    pb.environment().putAll(env);
    Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s finished", script).isTrue();
    return new Run(p.exitValue(), Files.readString(log));
  }

  private String launch(String javaOpts, String... args) throws IOException, InterruptedException {
    Path log = tmp.resolve("launch.txt");
    ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of(LAUNCHER.toString()), Stream.of(args)).toList());
    pb.environment().put("SNAPSTASH_JAVA_OPTS", javaOpts);
    Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the launcher finished").isTrue();
    String out = Files.readString(log);
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).as("the launcher must not rebuild the jar here").doesNotContain("building the jar");
    return out;
  }

  /**
   * The launcher rebuilds a jar older than any source with Maven; inside Maven's own build that would be a second,
   * nested build, so this test runs only on the jar this build has just packaged.
   */
  private static void requireFreshJar() throws IOException {
    assertThat(JAR).as("the shaded jar (built by package)").exists();
    FileTime jar = Files.getLastModifiedTime(JAR);
    try (Stream<Path> sources = Files.walk(Path.of("..").toAbsolutePath().normalize(), 1)) {
      for (Path module : sources.filter(d -> Files.isDirectory(d.resolve("src/main"))).toList()) {
        try (Stream<Path> newer = Files.find(module.resolve("src/main"), Integer.MAX_VALUE,
            (f, a) -> a.isRegularFile() && a.lastModifiedTime().compareTo(jar) > 0)) {
          assertThat(newer.findFirst())
              .as("a source newer than target/snapstash.jar; run mvn package first")
              .isEmpty();
        }
      }
    }
  }
}
