package dev.snapstash.sandbox.http;

import dev.snapstash.sandbox.db.PasswordHash;
import dev.snapstash.sandbox.db.SandboxDatabase;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * HTTP Basic and Bearer (access token) authentication against the user table. Users are read once at start (the
 * sandbox has no user administration), so checking credentials opens no transaction and never disturbs the drain.
 * A verified password is remembered by digest: PBKDF2 on every Git request would dominate a load test.
 *
 * <p>Failed logins are counted per user; past the CAPTCHA threshold every login of that user is refused, as
 * Bitbucket does until the user solves a CAPTCHA in a browser.
 *
 * <p>Started with a lockout recovery password, the user {@value #RECOVERY_USER} logs in with it as a system
 * administrator, as Bitbucket's "Lockout recovery process" describes (step 3: "Log in ... using the
 * 'recovery_admin' username and the temporary password"). Without one, that name is an unknown user.
 */
final class Auth {
  /** Who a request is, and whether an access token proved it (a token never carries SYSADMIN). */
  record Principal(SandboxDatabase.User user, boolean viaToken) {}

  /** Why a request is not authenticated. */
  enum Refusal {
    /** No usable Authorization header. */
    MISSING,
    /** A wrong user, password or token. */
    WRONG,
    /** The user must solve a CAPTCHA first. */
    CAPTCHA
  }

  /** Either a principal or a refusal. */
  record Outcome(Principal principal, Refusal refusal) {
    Optional<Principal> ok() {
      return Optional.ofNullable(principal);
    }
  }

  /** The user name Bitbucket's lockout recovery logs in as. */
  static final String RECOVERY_USER = "recovery_admin";

  private final Map<String, SandboxDatabase.User> users;
  private final String recoveryPassword;
  private final Map<String, String> tokens;
  private final Map<String, String> verified = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();

  /** @param tokens access token to user name */
  Auth(List<SandboxDatabase.User> users, Map<String, String> tokens) {
    this(users, tokens, null);
  }

  /** @param recoveryPassword the lockout recovery password the sandbox was started with, or null */
  Auth(List<SandboxDatabase.User> users, Map<String, String> tokens, String recoveryPassword) {
    this.users = users.stream().collect(Collectors.toMap(SandboxDatabase.User::name, Function.identity()));
    this.tokens = Map.copyOf(tokens);
    // Bitbucket requires a non-blank value; a blank one leaves recovery off.
    this.recoveryPassword = recoveryPassword == null || recoveryPassword.isBlank() ? null : recoveryPassword;
  }

  Outcome authenticate(String authorization, int captchaAfter) {
    if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      String user = tokens.get(authorization.substring(7).trim());
      SandboxDatabase.User u = user == null ? null : users.get(user);
      return u == null ? new Outcome(null, Refusal.WRONG) : new Outcome(new Principal(u, true), null);
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return new Outcome(null, Refusal.MISSING);
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return new Outcome(null, Refusal.MISSING);
    }
    int colon = decoded.indexOf(':');
    if (colon < 0) {
      return new Outcome(null, Refusal.MISSING);
    }
    String name = decoded.substring(0, colon);
    String password = decoded.substring(colon + 1);
    if (recoveryPassword != null && name.equals(RECOVERY_USER)) {
      boolean same = MessageDigest.isEqual(
          password.getBytes(StandardCharsets.UTF_8), recoveryPassword.getBytes(StandardCharsets.UTF_8));
      return same
          ? new Outcome(new Principal(new SandboxDatabase.User(RECOVERY_USER, "Recovery Admin", null, null, true), false), null)
          : new Outcome(null, Refusal.WRONG);
    }
    SandboxDatabase.User u = users.get(name);
    if (u == null) {
      return new Outcome(null, Refusal.WRONG);
    }
    AtomicInteger failed = failures.computeIfAbsent(name, k -> new AtomicInteger());
    if (captchaAfter > 0 && failed.get() >= captchaAfter) {
      failed.incrementAndGet();
      return new Outcome(null, Refusal.CAPTCHA);
    }
    String digest = sha256(name + '\0' + password);
    if (digest.equals(verified.get(name)) || PasswordHash.matches(password, u.credential())) {
      verified.put(name, digest);
      return new Outcome(new Principal(u, false), null);
    }
    failed.incrementAndGet();
    return new Outcome(null, Refusal.WRONG);
  }

  /** Logins of this user refused so far (wrong password, or while a CAPTCHA was demanded). */
  int failedLogins(String user) {
    AtomicInteger n = failures.get(user);
    return n == null ? 0 : n.get();
  }

  /** What an administrator does for a user locked behind a CAPTCHA. */
  void clearFailures(String user) {
    failures.remove(user);
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
