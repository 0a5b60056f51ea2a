package dev.snapstash.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The CLI's logging, set up in code rather than from a {@code logback.xml}: reading XML costs logback's
 * configuration machinery and an XML parser, about 600 classes loaded at every start (measured with
 * {@code -Xlog:class+load}), and start-up time counts in every backup's total. Logs and progress go to stderr;
 * stdout is for results (text or JSON) only. The level comes from the {@code snapstash.log.level} system property,
 * which {@link Main} sets before the first logger exists.
 */
public final class LogSetup extends ContextAwareBase implements Configurator {
  @Override
  public ExecutionStatus configure(LoggerContext context) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%d{HH:mm:ss.SSS} %-5level %msg%n");
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
}
