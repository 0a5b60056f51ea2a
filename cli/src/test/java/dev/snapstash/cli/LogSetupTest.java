package dev.snapstash.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.time.LocalDateTime;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

class LogSetupTest {
  private final LoggerContext context = new LoggerContext();
  private final LogSetup.Line layout = new LogSetup.Line();

  LogSetupTest() {
    layout.setContext(context);
    layout.start();
  }

  private LoggingEvent event(Level level, String message, Throwable thrown, Object... args) {
    LoggingEvent e = new LoggingEvent("test", context.getLogger("test"), level, message, thrown, args);
    e.setTimeStamp(LocalDateTime.of(2026, 11, 30, 9, 5, 7, 42_000_000).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli());
    return e;
  }

  @Test
  void aLineIsLocalTimeThePaddedLevelAndTheMessage() {
    assertThat(layout.doLayout(event(Level.INFO, "pre-copy: {} of {} directories differ", null, 3, 80765)))
        .isEqualTo("09:05:07.042 INFO  pre-copy: 3 of 80765 directories differ" + System.lineSeparator());
    assertThat(layout.doLayout(event(Level.DEBUG, "x", null))).startsWith("09:05:07.042 DEBUG x");
  }

  @Test
  void aStackTraceFollowsItsMessage() {
    String line = layout.doLayout(event(Level.DEBUG, "failed", new IllegalStateException("boom")));
    assertThat(line).startsWith("09:05:07.042 DEBUG failed" + System.lineSeparator() + "java.lang.IllegalStateException: boom");
    assertThat(line).contains("\tat dev.snapstash.cli.LogSetupTest.aStackTraceFollowsItsMessage");
  }
}
