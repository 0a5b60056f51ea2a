package dev.snapstash.sandbox;

import java.time.Duration;

/**
 * Fault and timing knobs for tests, settable at any time on a running sandbox (in-process through {@link
 * RunningSandbox#knobs()}, or over HTTP as an admin at {@code /rest/sandbox/1.0/knobs} for a detached one).
 * Thread-safe.
 *
 * <p>Where Bitbucket's answer is evidenced (docs/strategies/quiesce-bitbucket.md), the default is that answer;
 * where it is not, the default is the most likely one and a knob sets each other plausible answer, so that the
 * client is tested against all of them.
 */
public final class SandboxKnobs {
  /** What answers every request while the instance is unavailable. */
  public enum Unavailable {
    /** A node starting up: 503 for everything, {@code /status} says {@code STARTING}. */
    STARTING,
    /** A proxy or load balancer whose Bitbucket is down: 503 and an HTML page for everything, {@code /status} too. */
    PROXY
  }

  /**
   * Data Center rate limiting: a token bucket per user for requests with Basic or Bearer credentials.
   *
   * @param capacity the bucket's size (Bitbucket's settings page offers 60)
   * @param perSecond tokens added each second (offered: 5)
   * @param retryAfterAsDate whether {@code Retry-After} is an HTTP date rather than seconds (both are legal)
   */
  public record RateLimit(int capacity, double perSecond, boolean retryAfterAsDate) {}

  private volatile Duration preReceiveDelay = Duration.ZERO;
  private volatile Duration minDrain = Duration.ofMillis(200);
  private volatile String taskOutcome;
  private volatile int noSuchLockStatus = 404;
  private volatile int wrongTokenStatus = 409;
  private volatile int permissionDeniedStatus = 401;
  private volatile int secondLockStatus = 409;
  private volatile int statusCodeInMaintenance = 503;
  private volatile int captchaAfterFailures;
  private volatile Unavailable unavailable;
  private volatile RateLimit rateLimit;
  private volatile boolean loginRedirect;

  /**
   * The answer to unlock, cancel, the token-bearing status and start-backup when there is no lock (or no task): 404
   * by default (UI: Bitbucket's maintenance page polls the lock "until it returns a 404"); 409 and 403 are the other
   * plausible answers.
   */
  public SandboxKnobs noSuchLockStatus(int status) {
    this.noSuchLockStatus = status;
    return this;
  }

  public int noSuchLockStatus() {
    return noSuchLockStatus;
  }

  /**
   * The answer to a token that is not the lock's (or the task's): 409 by default (UI, for unlock); 403 is the other
   * plausible answer. (A 401 would be indistinguishable from refused credentials, which recover must never take
   * for a released lock.)
   */
  public SandboxKnobs wrongTokenStatus(int status) {
    this.wrongTokenStatus = status;
    return this;
  }

  public int wrongTokenStatus() {
    return wrongTokenStatus;
  }

  /**
   * The answer to a user without SYSADMIN on a resource that needs it: 401 by default, as Bitbucket's REST API
   * documents it (OAS, with {@code AuthorisationException}); 403 is the other plausible one.
   */
  public SandboxKnobs permissionDeniedStatus(int status) {
    this.permissionDeniedStatus = status;
    return this;
  }

  public int permissionDeniedStatus() {
    return permissionDeniedStatus;
  }

  /** The answer to a second lock while locked: 409 by default, or 503 (both unverified). */
  public SandboxKnobs secondLockStatus(int status) {
    this.secondLockStatus = status;
    return this;
  }

  public int secondLockStatus() {
    return secondLockStatus;
  }

  /**
   * The HTTP status of {@code /status} while locked, whose body says {@code MAINTENANCE} either way: 503 by default
   * (as Atlassian documents for Jira's {@code /status}), or 200 (unverified for Bitbucket).
   */
  public SandboxKnobs statusCodeInMaintenance(int status) {
    this.statusCodeInMaintenance = status;
    return this;
  }

  public int statusCodeInMaintenance() {
    return statusCodeInMaintenance;
  }

  /**
   * After this many failed logins of a user, every login of that user is refused with 401 and {@code
   * X-Authentication-Denied-Reason} until {@link RunningSandbox#clearCaptcha}, the right password included; 0 turns it off.
   */
  public SandboxKnobs captchaAfterFailures(int n) {
    this.captchaAfterFailures = n;
    return this;
  }

  public int captchaAfterFailures() {
    return captchaAfterFailures;
  }

  /** Makes the instance unavailable in this way, or {@code null} for normal service. */
  public SandboxKnobs unavailable(Unavailable u) {
    this.unavailable = u;
    return this;
  }

  public Unavailable unavailable() {
    return unavailable;
  }

  /** Turns Data Center rate limiting on with these settings, or off with {@code null}. */
  public SandboxKnobs rateLimit(RateLimit r) {
    this.rateLimit = r;
    return this;
  }

  public RateLimit rateLimit() {
    return rateLimit;
  }

  /**
   * Answers every request but {@code /status} with a redirect to a login page, as a single sign-on gateway in
   * front of Bitbucket does.
   */
  public SandboxKnobs loginRedirect(boolean on) {
    this.loginRedirect = on;
    return this;
  }

  public boolean loginRedirect() {
    return loginRedirect;
  }

  /**
   * Makes every push wait this long in a real {@code pre-receive} hook, after its pack is received and before any
   * ref moves, so a test can hold a push in flight across the lock.
   */
  public SandboxKnobs preReceiveDelay(Duration d) {
    this.preReceiveDelay = d == null ? Duration.ZERO : d;
    return this;
  }

  public Duration preReceiveDelay() {
    return preReceiveDelay;
  }

  /**
   * The least time between starting a backup task and reporting DRAINED, like a real instance closing its
   * connections; clients then always see DRAINING first. Default 200 ms.
   */
  public SandboxKnobs minDrain(Duration d) {
    this.minDrain = d == null ? Duration.ZERO : d;
    return this;
  }

  public Duration minDrain() {
    return minDrain;
  }

  /**
   * Makes a running backup task end in this state ({@code FAILED} or {@code CANCELED}) at the next status poll, or
   * {@code null} for normal behaviour.
   */
  public SandboxKnobs taskOutcome(String state) {
    this.taskOutcome = state;
    return this;
  }

  public String taskOutcome() {
    return taskOutcome;
  }
}
