package dev.snapstash.sandbox;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;

/** Generated passwords and the 0600 files that hold them. */
public final class Secrets {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] ALPHABET =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789".toCharArray();

  private Secrets() {}

  public static String generate(int length) {
    StringBuilder sb = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      sb.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
    }
    return sb.toString();
  }

  public static String hex(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    StringBuilder sb = new StringBuilder();
    for (byte x : b) {
      sb.append(String.format("%02x", x));
    }
    return sb.toString();
  }

  /** Reads a secret file; a trailing newline is not part of the secret (editors add one). */
  public static String read(Path file, String option) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new SnapstashException(
          ErrorKind.CONFIG, "cannot read the password file " + file + ": check " + option, e);
    }
  }

  /** Writes the file readable by its owner only; created that way so it is never briefly world-readable. */
  public static void write(Path file, String secret) {
    try {
      Files.deleteIfExists(file);
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, secret + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** The secret in {@code file}, created with a fresh random value on first use, so restarts reuse it. */
  public static String readOrCreate(Path file) {
    if (Files.exists(file)) {
      return read(file, file.toString());
    }
    String s = generate(20);
    write(file, s);
    return s;
  }
}
