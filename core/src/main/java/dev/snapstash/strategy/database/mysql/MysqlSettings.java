package dev.snapstash.strategy.database.mysql;

import dev.snapstash.core.config.Key;
import dev.snapstash.core.config.Secret;

/** The settings of the {@code mysql} database strategy (MySQL and MariaDB): {@code database.mysql}. */
public record MysqlSettings(
    @Key(doc = "Database server host.", def = "127.0.0.1") String host,
    @Key(doc = "Database server port.", def = "3306") int port,
    @Key(doc = "Database name.", def = "bitbucket") String database,
    @Key(doc = "Database user.", def = "bitbucket") String username,
    @Key(doc = "Database password.", secret = true) Secret password) {}

