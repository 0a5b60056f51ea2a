package dev.snapstash.strategy.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.RunReport;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What every {@link Notifier} guarantees: a run's report arrives with its fields and without a secret, and a
 * receiver that fails, refuses or hangs costs the run at most the configured limit and never an exception: the
 * failure is logged as a warning that says what went wrong. Each notifier runs it through a subclass that gives it
 * a real receiver (a loopback HTTP server for the webhook) and says what arrived there.
 */
public abstract class NotifierContract {
  /** How a receiver fails. */
  public enum Failure {
    /** It refuses the message: HTTP 500 for the webhook, a 5xx reply for SMTP. */
    SERVER_ERROR,
    /** Nothing listens: the connection is refused. */
    REFUSED,
    /** It accepts the request and never answers. */
    HANGS
  }

  /** The secret this notifier is configured with (a token), which must never be sent in a body or logged. */
  protected abstract String secret();

  /** The notifier, configured with {@link #secret()} and {@link #limit()}, sending to a receiver that works. */
  protected abstract Notifier notifier() throws Exception;

  /** The same notifier, sending to a receiver that fails as {@code failure} says. */
  protected abstract Notifier failing(Failure failure) throws Exception;

  /** What the working receiver got, one message each, in order. */
  protected abstract List<String> received() throws Exception;

  /** The configured limit on one delivery. */
  protected abstract Duration limit();

  /** What the warning about a {@link Failure#SERVER_ERROR} must quote of the receiver's answer: its status. */
  protected String serverErrorStatus() {
    return "500";
  }

  /** How far over {@link #limit()} a delivery may end: scheduling, on a machine shared with other builds. */
  private static final Duration SLACK = Duration.ofSeconds(5);

  protected static RunReport success() {
    return new RunReport("backup", "prod-bitbucket", "prod-bitbucket-20261207-010203", true,
        Instant.parse("2026-12-07T01:02:03Z"), Duration.ofSeconds(75), Duration.ofMillis(1250), 3L << 30, null);
  }

  protected static RunReport failure() {
    return new RunReport("backup", "prod-bitbucket", null, false, Instant.parse("2026-12-07T01:02:03Z"),
        Duration.ofSeconds(9), null, 0, "pg_dump failed with exit code 1: connection to server lost");
  }

  @Test
  void checkFindsNoProblemAndSendsNothing() throws Exception {
    Notifier n = notifier();
    Findings f = new Findings();
    n.check(f);
    assertThat(f.problems()).isEmpty();
    assertThat(f.all()).as("check says what it checked").isNotEmpty();
    assertThat(received()).isEmpty();
  }

  @Test
  void aReportArrivesWithItsFieldsAndNoSecret() throws Exception {
    Notifier n = notifier();
    n.send(success());
    n.send(failure());
    List<String> got = received();
    assertThat(got).hasSize(2);
    assertThat(got.get(0)).contains("backup", "prod-bitbucket", "prod-bitbucket-20261207-010203");
    assertThat(got.get(1)).contains("backup", "prod-bitbucket", "pg_dump failed with exit code 1: connection to server lost");
    assertThat(got.get(0)).isNotEqualTo(got.get(1));
    for (String m : got) {
      assertThat(m).doesNotContain(secret());
    }
  }

  /** A receiver that hangs is given up on within the configured limit, quietly for the run, loudly in the log. */
  @Test
  void aHangingReceiverIsCutOffWithinTheLimit() throws Exception {
    Notifier n = failing(Failure.HANGS);
    long t = System.nanoTime();
    String log = logOf(() -> assertTimeoutPreemptively(limit().plus(SLACK).plus(SLACK), () -> n.send(success()),
        "still sending well after the limit of " + limit()));
    assertThat(Duration.ofNanos(System.nanoTime() - t)).isLessThanOrEqualTo(limit().plus(SLACK));
    assertThat(log).contains("WARN").doesNotContain(secret());
  }

  /** A delivery that fails returns normally (the run's outcome stands) and leaves a warning saying why. */
  @ParameterizedTest
  @EnumSource(value = Failure.class, names = {"SERVER_ERROR", "REFUSED"})
  void aFailedDeliveryIsAWarningNotAnException(Failure failure) throws Exception {
    Notifier n = failing(failure);
    String log = logOf(() -> n.send(failure()));
    assertThat(log).contains("WARN").doesNotContain(secret()).doesNotContain(": null");
    assertThat(log.toLowerCase(java.util.Locale.ROOT)).contains(failure == Failure.SERVER_ERROR ? serverErrorStatus() : "refused");
  }

  /**
   * What was logged while {@code run} ran. slf4j-simple, the tests' logging backend, writes to whatever {@code
   * System.err} is at the time.
   */
  private static String logOf(Runnable run) {
    PrintStream was = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      run.run();
    } finally {
      System.setErr(was);
    }
    String text = captured.toString(StandardCharsets.UTF_8);
    was.print(text);
    return text;
  }
}
