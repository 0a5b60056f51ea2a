package dev.snapstash.strategy.quiesce.command;

import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import dev.snapstash.core.spi.Undo;
import java.util.Map;

/** {@code quiesce.type: command}: any application, stopped and released by the commands of {@code quiesce.command}. */
public final class CommandProvider implements Provider<CommandSettings, Quiescer> {
  @Override
  public StrategyKind kind() {
    return StrategyKind.QUIESCE;
  }

  @Override
  public String name() {
    return "command";
  }

  @Override
  public String summary() {
    return "run quiesce.command.lock before the copy and quiesce.command.unlock after it (any application)";
  }

  @Override
  public Class<CommandSettings> settingsType() {
    return CommandSettings.class;
  }

  @Override
  public Quiescer create(CommandSettings s, Services services) {
    return new CommandQuiescer(s.lock(), s.unlock(), s.timeout(), services.runner(), services.nanoTime());
  }

  @Override
  public Map<String, Class<? extends Undo>> undoTypes() {
    return Map.of("run-command", RunCommand.class);
  }
}
