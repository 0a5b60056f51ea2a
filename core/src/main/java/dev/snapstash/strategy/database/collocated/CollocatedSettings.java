package dev.snapstash.strategy.database.collocated;

import dev.snapstash.core.config.Key;
import java.nio.file.Path;

/** The settings of the {@code collocated} database strategy: {@code database.collocated}. */
public record CollocatedSettings(
    @Key(doc = "The database's data directory, which must lie inside the copied home or volume.")
        Path dataDirectory) {}

