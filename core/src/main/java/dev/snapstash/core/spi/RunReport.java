package dev.snapstash.core.spi;

import java.time.Duration;
import java.time.Instant;

/**
 * The outcome of one run, as notifications and the CLI show it. Holds no secret by construction: only names,
 * sizes, times and the error's one-sentence message.
 *
 * @param operation "backup", "restore", "recover", "stage"
 * @param instance the configured instance name
 * @param tag the backup tag, or null when the run failed before one existed
 * @param success whether the run succeeded
 * @param startedAt when the run started
 * @param duration total wall-clock time
 * @param lockWindow time from lock accepted to unlock answered, or null if the instance was never locked
 * @param bytes size of the backup (or of what was restored)
 * @param error the error's one-sentence message, or null
 */
public record RunReport(
    String operation,
    String instance,
    String tag,
    boolean success,
    Instant startedAt,
    Duration duration,
    Duration lockWindow,
    long bytes,
    String error) {}
