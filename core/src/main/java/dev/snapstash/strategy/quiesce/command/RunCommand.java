package dev.snapstash.strategy.quiesce.command;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.time.Duration;
import java.util.List;

/** The release command of the {@code command} quiescer (start the application, thaw it): journal name {@code run-command}. */
public record RunCommand(List<String> argv) implements Undo {
  @Override
  public int order() {
    return RELEASE;
  }

  @Override
  public String describe() {
    return "run " + String.join(" ", argv);
  }

  @Override
  public void undo(Services services) {
    services.runner().run(Command.of(argv).withTimeout(Duration.ofMinutes(5)));
  }
}
