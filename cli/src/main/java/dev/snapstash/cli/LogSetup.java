package dev.snapstash.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.time.LocalTime;
import java.time.ZoneId;

/**
 * The CLI's logging, set up in code rather than from a {@code logback.xml}: reading XML costs logback's
 * configuration machinery and an XML parser, about 600 classes loaded at every start (measured with
 * {@code -Xlog:class+load}), and start-up time counts in every backup's total. Logs and progress go to stderr;
 * stdout is for results (text or JSON) only. The level comes from the {@code snapstash.log.level} system property,
 * which {@link Main} sets before the first logger exists.
 *
 * <p>The line layout is {@link Line}, not logback's {@code PatternLayout}: that one registers its ~70 converters
 * as method references, and spinning their classes (and compiling the bytecode generator that spins them) cost
 * more at every start than all the lines a backup logs.
 */
public final class LogSetup extends ContextAwareBase implements Configurator {
  @Override
  public ExecutionStatus configure(LoggerContext context) {
    Line layout = new Line();
    layout.setContext(context);
    layout.start();
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(context);
    encoder.setLayout(layout);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(System.getProperty("snapstash.log.level"), Level.INFO));
    root.addAppender(stderr);
    // The sandbox's libraries are chatty at INFO.
    for (String quiet : new String[] {"org.eclipse.jetty", "com.zaxxer.hikari", "org.h2"}) {
      context.getLogger(quiet).setLevel(Level.WARN);
    }
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /**
   * {@code HH:mm:ss.SSS LEVEL message}, local time, the level padded to five characters, and the stack trace when
   * the event has one (shown only with --debug, which logs them): what the pattern
   * {@code %d{HH:mm:ss.SSS} %-5level %msg%n} gave.
   */
  static final class Line extends LayoutBase<ILoggingEvent> {
    private final ZoneId zone = ZoneId.systemDefault();

    @Override
    public String doLayout(ILoggingEvent event) {
      LocalTime t = LocalTime.ofInstant(java.time.Instant.ofEpochMilli(event.getTimeStamp()), zone);
      StringBuilder sb = new StringBuilder(96);
      two(sb, t.getHour()).append(':');
      two(sb, t.getMinute()).append(':');
      two(sb, t.getSecond()).append('.');
      int millis = t.getNano() / 1_000_000;
      sb.append((char) ('0' + millis / 100)).append((char) ('0' + millis / 10 % 10)).append((char) ('0' + millis % 10));
      String level = event.getLevel().toString();
      sb.append(' ').append(level);
      for (int i = level.length(); i < 5; i++) {
        sb.append(' ');
      }
      sb.append(' ').append(event.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
      IThrowableProxy thrown = event.getThrowableProxy();
      if (thrown != null) {
        sb.append(ThrowableProxyUtil.asString(thrown)).append(CoreConstants.LINE_SEPARATOR);
      }
      return sb.toString();
    }

    private static StringBuilder two(StringBuilder sb, int v) {
      return sb.append((char) ('0' + v / 10)).append((char) ('0' + v % 10));
    }
  }
}
