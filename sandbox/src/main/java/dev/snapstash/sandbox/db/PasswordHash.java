package dev.snapstash.sandbox.db;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Atlassian's {@code {PKCS5S2}} credential format (PBKDF2-HMAC-SHA1, 10,000 rounds, 16-byte salt, 32-byte key),
 * so the user table looks like a real one to anything that inspects a restored database.
 */
public final class PasswordHash {
  private static final String PREFIX = "{PKCS5S2}";
  private static final int ROUNDS = 10_000;
  private static final SecureRandom RANDOM = new SecureRandom();

  private PasswordHash() {}

  public static String hash(String password) {
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    byte[] key = derive(password, salt);
    byte[] all = new byte[48];
    System.arraycopy(salt, 0, all, 0, 16);
    System.arraycopy(key, 0, all, 16, 32);
    return PREFIX + Base64.getEncoder().encodeToString(all);
  }

  public static boolean matches(String password, String credential) {
    if (credential == null || !credential.startsWith(PREFIX)) {
      return false;
    }
    byte[] all = Base64.getDecoder().decode(credential.substring(PREFIX.length()));
    if (all.length != 48) {
      return false;
    }
    byte[] salt = java.util.Arrays.copyOfRange(all, 0, 16);
    byte[] key = java.util.Arrays.copyOfRange(all, 16, 48);
    return MessageDigest.isEqual(key, derive(password, salt));
  }

  private static byte[] derive(String password, byte[] salt) {
    try {
      PBEKeySpec spec = new PBEKeySpec(password.toCharArray(), salt, ROUNDS, 256);
      return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA1").generateSecret(spec).getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("PBKDF2WithHmacSHA1 is part of every JDK", e);
    }
  }
}
