package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Whether the pid a sandbox directory records is a live sandbox, as {@code sandbox status} and {@code stop} ask. */
class LiveProcessTest {
  private static SandboxState recording(long pid) {
    return new SandboxState("http://127.0.0.1:1", 1, pid, "admin", null, "user", null, DbKind.H2, null, null, null,
        false, null, null, null, null, null, null, null);
  }

  /**
   * A sandbox started with a long class path (a test's is over 4 KiB) has its {@code --foreground} past the first
   * page of its command line, all the JDK's process information keeps: it read as stopped while it ran.
   */
  @Test
  void aSandboxWithACommandLineLongerThanAPageIsLive() throws Exception {
    Process p = new ProcessBuilder("sh", "-c", "sleep 30", "-cp", "x".repeat(6000), "--foreground").start();
    try {
      assertThat(Sandbox.liveProcess(recording(p.pid()))).contains(p.pid());
    } finally {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aLiveProcessThatIsNotASandboxIsNot() throws Exception {
    Process p = new ProcessBuilder("sh", "-c", "sleep 30", "x".repeat(6000)).start();
    try {
      assertThat(Sandbox.liveProcess(recording(p.pid()))).isEmpty();
    } finally {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
