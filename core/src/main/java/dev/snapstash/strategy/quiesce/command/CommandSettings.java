package dev.snapstash.strategy.quiesce.command;

import dev.snapstash.core.config.Key;
import java.time.Duration;
import java.util.List;

/** The settings of the {@code command} quiescer: {@code quiesce.command}. */
public record CommandSettings(
    @Key(doc = "Command run to quiesce the application, as a list of arguments.") List<String> lock,
    @Key(doc = "Command run to release it, as a list of arguments.") List<String> unlock,
    @Key(doc = "Time limit for each command.", def = "5m") Duration timeout) {}

