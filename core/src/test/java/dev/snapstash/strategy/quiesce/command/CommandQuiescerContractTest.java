package dev.snapstash.strategy.quiesce.command;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Services;
import dev.snapstash.strategy.quiesce.QuiescerContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The contract against real shell commands: the lock script marks the application stopped ({@code stopped}), the
 * unlock script starts it again; both append to {@code calls}. Files in the application's directory make the next
 * lock fail after it stopped the application, or wait a minute (a drain) before it returns.
 */
class CommandQuiescerContractTest extends QuiescerContract {
  private Path app;

  private Path app() throws Exception {
    if (app == null) {
      app = Files.createDirectories(tmp.resolve("app"));
      script("lock.sh",
          "echo lock >> '" + app + "/calls'",
          "touch '" + app + "/stopped'",
          "if [ -e '" + app + "/fail-lock' ]; then echo 'cannot stop the application' >&2; exit 3; fi",
          "if [ -e '" + app + "/slow-lock' ]; then sleep 60; fi");
      script("unlock.sh",
          "echo unlock >> '" + app + "/calls'",
          "rm -f '" + app + "/stopped'");
    }
    return app;
  }

  private void script(String name, String... lines) throws Exception {
    Path p = app.resolve(name);
    Files.writeString(p, "#!/bin/sh\nset -e\n" + String.join("\n", lines) + "\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
  }

  private SnapstashConfig config() throws Exception {
    Path a = app();
    return config("", "quiesce: {type: command, command: {lock: ['" + a.resolve("lock.sh") + "'], unlock: ['"
        + a.resolve("unlock.sh") + "'], timeout: 2m}}\n", Map.of());
  }

  @Override
  protected Quiescer quiescer() throws Exception {
    SnapstashConfig c = config();
    return fromConfig(c, servicesOf(c));
  }

  @Override
  protected Services services() throws Exception {
    return servicesOf(config());
  }

  @Override
  protected Set<String> held() throws Exception {
    return Files.exists(app().resolve("stopped")) ? Set.of("stopped") : Set.of();
  }

  @Override
  protected Object observable() throws Exception {
    Path calls = app().resolve("calls");
    return List.of(held(), Files.exists(calls) ? Files.readString(calls) : "");
  }

  @Override
  protected void failNextLock() throws Exception {
    Files.createFile(app().resolve("fail-lock"));
  }

  @Override
  protected void slowNextLock() throws Exception {
    Files.createFile(app().resolve("slow-lock"));
  }
}
