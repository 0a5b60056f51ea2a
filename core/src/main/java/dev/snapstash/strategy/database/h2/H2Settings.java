package dev.snapstash.strategy.database.h2;

import dev.snapstash.core.config.Key;
import dev.snapstash.core.config.Secret;

/** The settings of the {@code h2} database strategy (the embedded evaluation database): {@code database.h2}. */
public record H2Settings(
    @Key(doc = "JDBC URL of the H2 database (use AUTO_SERVER=TRUE so it can be read while Bitbucket runs).")
        String url,
    @Key(doc = "Database user.", def = "sa") String username,
    @Key(doc = "Database password.", secret = true) Secret password) {}

