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
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * HTTP Basic authentication against the user table. Users are read once at start (the sandbox has no user
 * administration), so checking credentials opens no transaction and never disturbs the drain. A verified password
 * is remembered by digest: PBKDF2 on every Git request would dominate a load test.
 */
final class Auth {
  private final Map<String, SandboxDatabase.User> users;
  private final Map<String, String> verified = new ConcurrentHashMap<>();

  Auth(List<SandboxDatabase.User> users) {
    this.users = users.stream().collect(Collectors.toMap(SandboxDatabase.User::name, Function.identity()));
  }

  /** The user the header authenticates, or empty when it is missing, malformed or wrong. */
  Optional<SandboxDatabase.User> authenticate(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return Optional.empty();
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    int colon = decoded.indexOf(':');
    if (colon < 0) {
      return Optional.empty();
    }
    String name = decoded.substring(0, colon);
    String password = decoded.substring(colon + 1);
    SandboxDatabase.User u = users.get(name);
    if (u == null) {
      return Optional.empty();
    }
    String digest = sha256(name + '\0' + password);
    if (digest.equals(verified.get(name))) {
      return Optional.of(u);
    }
    if (PasswordHash.matches(password, u.credential())) {
      verified.put(name, digest);
      return Optional.of(u);
    }
    return Optional.empty();
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
