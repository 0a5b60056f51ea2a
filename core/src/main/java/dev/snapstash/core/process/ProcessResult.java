package dev.snapstash.core.process;

import java.time.Duration;

/**
 * What a finished command left behind.
 *
 * @param exitCode the process's exit code
 * @param stdout captured standard output ({@link Command.Output#CAPTURE} only, else empty)
 * @param stderrTail the last lines of standard error, redacted
 * @param elapsed wall-clock time
 */
public record ProcessResult(int exitCode, String stdout, String stderrTail, Duration elapsed) {}
