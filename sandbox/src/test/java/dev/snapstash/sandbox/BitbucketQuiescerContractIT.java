package dev.snapstash.sandbox;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Services;
import dev.snapstash.strategy.quiesce.QuiescerContract;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The contract of {@code quiesce.type: bitbucket} against the sandbox over real HTTP: its maintenance lock and
 * external backup task are the side effects, read from the sandbox itself. A task the instance ends (FAILED) makes
 * a lock fail half way; a minimum drain of a minute makes it wait. A fresh sandbox per case, so that no lock a
 * failed case left can leak into the next.
 */
class BitbucketQuiescerContractIT extends QuiescerContract {
  private RunningSandbox sandbox;

  @BeforeEach
  void start() {
    Tools.requireGit();
    sandbox = RunningSandbox.start(SandboxOptions.defaults(tmp.resolve("sb")).withPort(0).withContent(1, 1, 1, 1),
        new ProcessRunner());
  }

  @AfterEach
  void stop() {
    if (sandbox != null) {
      sandbox.close();
    }
  }

  private SnapstashConfig config() {
    return config("base-url: '" + sandbox.baseUrl() + "', username: admin, password: '${env:PW}'",
        "quiesce: {type: bitbucket}\n", Map.of("PW", sandbox.adminPassword()));
  }

  @Override
  protected Quiescer quiescer() {
    SnapstashConfig c = config();
    return fromConfig(c, servicesOf(c));
  }

  @Override
  protected Services services() {
    return servicesOf(config());
  }

  @Override
  protected Set<String> held() {
    Set<String> held = new HashSet<>();
    if (sandbox.maintenance().isLocked()) {
      held.add("maintenance lock");
    }
    sandbox.maintenance().task().filter(t -> t.state().equals("RUNNING")).ifPresent(t -> held.add("backup task"));
    return held;
  }

  @Override
  protected Object observable() {
    return List.of(held(), sandbox.maintenance().task());
  }

  @Override
  protected void failNextLock() {
    sandbox.knobs().taskOutcome("FAILED");
  }

  @Override
  protected void slowNextLock() {
    sandbox.knobs().minDrain(Duration.ofMinutes(2));
  }

  /** The unlock token is in the lock's answer, and the cancel token in the task's. */
  @Override
  protected boolean undoNeedsTheLocksAnswer() {
    return true;
  }
}
