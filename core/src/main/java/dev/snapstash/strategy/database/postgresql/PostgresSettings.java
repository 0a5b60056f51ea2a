package dev.snapstash.strategy.database.postgresql;

import dev.snapstash.core.config.Key;
import dev.snapstash.core.config.Secret;

/** The settings of the {@code postgresql} database strategy: {@code database.postgresql}. */
public record PostgresSettings(
    @Key(doc = "Database server host.", def = "127.0.0.1") String host,
    @Key(doc = "Database server port.", def = "5432") int port,
    @Key(doc = "Database name.", def = "bitbucket") String database,
    @Key(doc = "Database user.", def = "bitbucket") String username,
    @Key(doc = "Database password.", secret = true) Secret password,
    @Key(doc = "Parallel jobs for pg_dump and pg_restore, 1 to 64.", def = "2") int jobs,
    @Key(doc = "Directory holding pg_dump and pg_restore; empty means PATH.", def = "") String binDir,
    @Key(
            doc =
                "Pin a snapshot of the database under the lock (pg_export_snapshot) and run pg_dump from it after"
                    + " the unlock, so the lock window does not grow with the database. The dump is as consistent"
                    + " as one taken under the lock.",
            def = "true")
        boolean dumpAfterUnlock) {}

