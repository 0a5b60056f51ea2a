package dev.snapstash.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A Debian machine's package tools, faked on a {@code PATH} of their own, so that the scripts that install snapstash's
 * Debian packages can be run here for real, as root and as not, without installing or removing anything: {@code
 * dpkg-query} answers from a list of installed packages, {@code apt-get install} adds to that list (and can enable
 * units, or fail), {@code id -u} says the uid it is told, {@code systemctl} keeps a list of enabled units, and {@code
 * java} and {@code mvn} only record that they were started. Every call is recorded, one line each.
 *
 * <p>By default the {@code PATH} holds these fakes and links to the few real tools the scripts use, nothing else: the
 * real {@code apt-get} cannot be reached by accident.
 */
final class FakeDebian {
  /** Real programs the scripts and the fakes use, linked into the fake PATH. */
  private static final List<String> REAL_TOOLS =
      List.of("bash", "sh", "env", "dirname", "awk", "sort", "comm", "mktemp", "rm", "chmod", "tail", "cat", "grep",
          "mv", "cp", "readlink", "find", "locale", "touch", "printf");

  private final Path bin;
  private final Path state;
  private final Path policyRcD;

  record Result(int exitCode, String stdout, String stderr) {}

  FakeDebian(Path dir) throws IOException {
    bin = Files.createDirectories(dir.resolve("bin"));
    state = Files.createDirectories(dir.resolve("state"));
    policyRcD = dir.resolve("policy-rc.d");
    for (String tool : REAL_TOOLS) {
      Files.createSymbolicLink(bin.resolve(tool), real(tool));
    }
    Files.writeString(state.resolve("installed"), "");
    Files.writeString(state.resolve("config-files"), "");
    Files.writeString(state.resolve("enabled"), "");
    Files.writeString(state.resolve("enable-on-install"), "");
    Files.writeString(state.resolve("calls"), "");
    uid(0);
    fake("dpkg-query", """
        record dpkg-query "$@"
        [ "$1" = -W ] && [ "${2#-f=}" != "$2" ] || { echo "fake dpkg-query: unexpected $*" >&2; exit 2; }
        shift 2
        rc=0
        for p in "$@"; do
          if grep -qxF -- "$p" "$FAKE_STATE/installed"; then printf '%s\\tinstalled\\n' "$p"
          elif grep -qxF -- "$p" "$FAKE_STATE/config-files"; then printf '%s\\tconfig-files\\n' "$p"
          else echo "dpkg-query: no packages found matching $p" >&2; rc=1
          fi
        done
        exit $rc
        """);
    fake("apt-get", """
        if [ -x "$SNAPSTASH_POLICY_RC_D" ]; then "$SNAPSTASH_POLICY_RC_D"; policy="policy-rc.d=$?"; else policy="policy-rc.d=none"; fi
        record apt-get "$@" "[DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}]" "[$policy]"
        echo "Reading package lists..."
        if [ -e "$FAKE_STATE/apt-fails" ]; then echo "E: Unable to locate package ${!#}"; exit 100; fi
        seen=false
        for a in "$@"; do
          if [ "$a" = install ]; then seen=true
          elif $seen && [ "${a#-}" = "$a" ]; then echo "$a" >>"$FAKE_STATE/installed"
          fi
        done
        if $seen; then cat "$FAKE_STATE/enable-on-install" >>"$FAKE_STATE/enabled"; fi
        exit 0
        """);
    fake("id", """
        [ "$1" = -u ] || { echo "fake id: unexpected $*" >&2; exit 2; }
        cat "$FAKE_STATE/uid"
        """);
    fake("systemctl", """
        record systemctl "$@"
        case "$1" in
          list-unit-files) awk '{ print $1 " enabled enabled" }' "$FAKE_STATE/enabled" ;;
          disable) grep -vxF -- "${!#}" "$FAKE_STATE/enabled" >"$FAKE_STATE/enabled.new" || true
                   mv "$FAKE_STATE/enabled.new" "$FAKE_STATE/enabled" ;;
          *) echo "fake systemctl: unexpected $*" >&2; exit 2 ;;
        esac
        """);
    fake("update-rc.d", "record update-rc.d \"$@\"\n");
    fake("java", "record java \"$@\"\n");
    fake("mvn", "record mvn \"$@\"\n");
  }

  FakeDebian uid(int uid) throws IOException {
    Files.writeString(state.resolve("uid"), uid + "\n");
    return this;
  }

  FakeDebian installed(String... packages) throws IOException {
    append("installed", packages);
    return this;
  }

  /** Removed but not purged: dpkg still knows them, with status config-files. */
  FakeDebian removedKeepingConfig(String... packages) throws IOException {
    append("config-files", packages);
    return this;
  }

  FakeDebian enabled(String... units) throws IOException {
    append("enabled", units);
    return this;
  }

  /** Units that apt-get enables when it installs anything, as postinst scripts do. */
  FakeDebian enablesOnInstall(String... units) throws IOException {
    append("enable-on-install", units);
    return this;
  }

  FakeDebian aptGetFails() throws IOException {
    Files.writeString(state.resolve("apt-fails"), "");
    return this;
  }

  FakeDebian without(String program) throws IOException {
    Files.delete(bin.resolve(program));
    return this;
  }

  /** Every call of a fake, in order: its name and arguments, space-separated. */
  List<String> calls() {
    return lines("calls");
  }

  List<String> callsOf(String program) {
    return calls().stream().filter(c -> c.startsWith(program + " ")).toList();
  }

  List<String> installedNow() {
    return lines("installed");
  }

  List<String> enabledNow() {
    return lines("enabled");
  }

  Path policyRcD() {
    return policyRcD;
  }

  /** Runs {@code command} with the fakes and the linked tools as its only PATH. */
  Result run(Path directory, String... command) throws IOException, InterruptedException {
    return run(directory, bin.toString(), Map.of(), command);
  }

  /** Runs {@code command} with the fakes first on this JVM's PATH (for Maven, which needs java and more). */
  Result runBeforeRealPath(Path directory, Map<String, String> env, String... command)
      throws IOException, InterruptedException {
    return run(directory, bin + ":" + System.getenv("PATH"), env, command);
  }

  private Result run(Path directory, String path, Map<String, String> env, String... command)
      throws IOException, InterruptedException {
    Path out = Files.createTempFile(state, "out", ".txt");
    Path err = Files.createTempFile(state, "err", ".txt");
    ProcessBuilder pb = new ProcessBuilder(command).directory(directory.toFile());
    pb.environment().clear();
    pb.environment().put("PATH", path);
    pb.environment().put("HOME", System.getProperty("user.home"));
    pb.environment().put("FAKE_STATE", state.toString());
    pb.environment().put("SNAPSTASH_POLICY_RC_D", policyRcD.toString());
    pb.environment().putAll(env);
    Process p = pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("%s finished", Arrays.toString(command)).isTrue();
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private void fake(String name, String body) throws IOException {
    String script = "#!/bin/bash\n"
        + "record() { local IFS=' '; printf '%s\\n' \"$*\" >>\"$FAKE_STATE/calls\"; }\n"
        + body;
    Path f = bin.resolve(name);
    Files.writeString(f, script);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private void append(String file, String... lines) throws IOException {
    List<String> all = new ArrayList<>(List.of(lines));
    Files.write(state.resolve(file), all, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  private List<String> lines(String file) {
    try {
      return Files.readAllLines(state.resolve(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path real(String tool) {
    Optional<Path> found = Stream.of(System.getenv("PATH").split(":"))
        .map(d -> Path.of(d, tool))
        .filter(Files::isExecutable)
        .findFirst();
    return found.orElseThrow(() -> new IllegalStateException(tool + " is not on PATH"));
  }
}
