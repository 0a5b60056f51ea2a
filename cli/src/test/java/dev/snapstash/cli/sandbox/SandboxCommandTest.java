package dev.snapstash.cli.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.sandbox.Sandbox;
import dev.snapstash.sandbox.SandboxState;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The detached lifecycle through the command line, with a real background JVM. */
class SandboxCommandTest {
  @TempDir Path tmp;
  private final List<Path> started = new ArrayList<>();

  @BeforeAll
  static void tools() {
    boolean git = Files.isExecutable(Path.of("/usr/lib/git-core/git-http-backend"));
    if (Boolean.getBoolean("snapstash.requireAll")) {
      assertThat(git).as("git http-backend is required").isTrue();
    }
    Assumptions.assumeTrue(git, "git http-backend is not installed");
    System.setProperty(SandboxCommand.MAIN_CLASS_PROPERTY, SandboxTestMain.class.getName());
  }

  @AfterEach
  void stopEverything() {
    for (Path d : started) {
      try {
        Sandbox.stop(d);
      } catch (RuntimeException e) {
        // best effort: the test already failed or the directory never got a state file
      }
    }
  }

  record Run(int exit, String out, SnapstashException error) {}

  Run sandbox(String... args) {
    AtomicReference<SnapstashException> err = new AtomicReference<>();
    CommandLine cl = new CommandLine(new SandboxTestMain.TestRoot());
    cl.setExecutionExceptionHandler((ex, c, p) -> {
      if (ex instanceof SnapstashException se) {
        err.set(se);
        return 2;
      }
      throw ex;
    });
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      String[] full = new String[args.length + 1];
      full[0] = "sandbox";
      System.arraycopy(args, 0, full, 1, args.length);
      int code = cl.execute(full);
      return new Run(code, buf.toString(StandardCharsets.UTF_8), err.get());
    } finally {
      System.setOut(old);
    }
  }

  @Test
  void detachedStartStatusStopRestartLeavesNothingBehind() throws Exception {
    Path dir = tmp.resolve("sb");
    started.add(dir);
    Run start = sandbox("start", "--dir", dir.toString(), "--port", "0", "--json");
    assertThat(start.error()).isNull();
    JsonNode s = new ObjectMapper().readTree(start.out());
    long pid = s.get("pid").asLong();
    String password = Files.readString(dir.resolve("admin-password")).strip();
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(dir.resolve("admin-password")))).isEqualTo("rw-------");
    assertThat(Files.readString(dir.resolve("snapstash.yml"))).contains("base-url: " + s.get("baseUrl").asText())
        .contains("password: ${file:" + dir.resolve("admin-password") + "}")
        .contains("url: jdbc:h2:file:" + dir.resolve("home/shared/data/db") + ";AUTO_SERVER=TRUE");
    assertThat(dir.resolve("home/.lock")).exists();
    assertThat(dir.resolve("home/shared/data/db.mv.db")).exists();
    assertThat(sandbox("status", "--dir", dir.toString()).out()).contains("running at " + s.get("baseUrl").asText());

    Run again = sandbox("start", "--dir", dir.toString(), "--port", "0");
    assertThat(again.error()).isNotNull();
    assertThat(again.error().kind()).isEqualTo(ErrorKind.PRECONDITION);
    assertThat(again.error().getMessage()).contains("pid " + pid).contains(s.get("baseUrl").asText());

    int port = s.get("port").asInt();
    Run busy = sandbox("start", "--dir", tmp.resolve("other").toString(), "--port", Integer.toString(port));
    started.add(tmp.resolve("other"));
    assertThat(busy.error().kind()).isEqualTo(ErrorKind.PRECONDITION);
    assertThat(busy.error().getMessage()).contains("--port");

    List<ProcessHandle> family = new ArrayList<>(ProcessHandle.of(pid).orElseThrow().descendants().toList());
    family.add(ProcessHandle.of(pid).orElseThrow());
    assertThat(sandbox("stop", "--dir", dir.toString()).out()).contains("sandbox stopped");
    for (ProcessHandle h : family) {
      assertThat(h.isAlive()).as("pid " + h.pid()).isFalse();
    }
    assertThat(dir.resolve("home/.lock")).doesNotExist();
    assertThat(sandbox("status", "--dir", dir.toString()).out()).contains("stopped");
    assertThat(sandbox("stop", "--dir", dir.toString()).out()).contains("was not running");

    Run restart = sandbox("start", "--dir", dir.toString(), "--port", "0", "--json");
    assertThat(restart.error()).isNull();
    assertThat(Files.readString(dir.resolve("admin-password")).strip()).isEqualTo(password);
    SandboxState st = SandboxState.read(dir).orElseThrow();
    assertThat(st.adminPassword()).isEqualTo(password);
    assertThat(sandbox("stop", "--dir", dir.toString()).out()).contains("sandbox stopped");
    assertThat(ProcessHandle.of(st.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
  }

  @Test
  void databaseErrorsFromTheBackgroundProcessKeepTheirKind() throws Exception {
    Path wrong = tmp.resolve("wrong-password");
    Files.writeString(wrong, "not-it\n");
    Path dir = tmp.resolve("x");
    started.add(dir);
    Run unreachable = sandbox("start", "--dir", dir.toString(), "--port", "0", "--db", "postgresql",
        "--jdbc-url", "jdbc:postgresql://127.0.0.1:1/bitbucket", "--db-user", "bitbucket",
        "--db-password-file", wrong.toString());
    assertThat(unreachable.error()).isNotNull();
    assertThat(unreachable.error().kind()).isEqualTo(ErrorKind.UNREACHABLE);
    assertThat(unreachable.error().getMessage()).contains("--jdbc-url");
    assertThat(Sandbox.status(dir).running()).isFalse();
  }
}
