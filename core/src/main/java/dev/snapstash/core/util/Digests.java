package dev.snapstash.core.util;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The one SHA-256 of a file that manifests, home checksums and dump checksums all use: OpenSSL's libcrypto where it
 * loads ({@link NativeSha256} says why), else the JDK's, and always the JDK's when {@link Natives} says off. Both
 * give the same digest; only the speed differs.
 */
public final class Digests {
  private Digests() {}

  /** Decided once: every digest of a process goes the same way, and libcrypto is loaded at most once. */
  private static final Natives.Choice CHOICE = Natives.took(choose());

  private static final boolean NATIVE = CHOICE.nativePath();

  /**
   * One digest and one buffer per thread: a home holds 100,000 files of a few KiB, and a fresh 64 KiB buffer for
   * each was most of what checksumming them allocated.
   */
  private static final ThreadLocal<MessageDigest> DIGEST =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException(e);
            }
          });

  private static final ThreadLocal<byte[]> BUFFER = ThreadLocal.withInitial(() -> new byte[1 << 16]);

  /** Lower-case hex SHA-256 of the file's content. */
  public static String sha256(Path file) throws IOException {
    return HexFormat.of().formatHex(NATIVE ? NativeSha256.digest(file) : jdkDigest(file));
  }

  /** Lower-case hex SHA-256 of {@code data}. */
  public static String sha256(byte[] data) {
    return sha256(data, 0, data.length);
  }

  /** Lower-case hex SHA-256 of {@code length} bytes of {@code data} from {@code offset}. */
  public static String sha256(byte[] data, int offset, int length) {
    byte[] digest = NATIVE ? NativeSha256.digest(data, offset, length) : jdkDigest(data, offset, length);
    return HexFormat.of().formatHex(digest);
  }

  static byte[] jdkDigest(Path file) throws IOException {
    MessageDigest md = DIGEST.get();
    md.reset();
    byte[] buf = BUFFER.get();
    try (InputStream in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return md.digest();
  }

  static byte[] jdkDigest(byte[] data, int offset, int length) {
    MessageDigest md = DIGEST.get();
    md.reset();
    md.update(data, offset, length);
    return md.digest();
  }

  /** Which SHA-256 this process uses, and why. */
  public static Natives.Choice choice() {
    return CHOICE;
  }

  /**
   * For {@code check}: which SHA-256 a backup will use, after one known answer through it, so that a libcrypto
   * that loads but hashes wrong stops a run instead of writing checksums no other tool agrees with.
   */
  public static void check(dev.snapstash.core.spi.Findings findings) {
    byte[] abc = {'a', 'b', 'c'};
    String expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    if (!sha256(abc).equals(expected)) {
      findings.problem(
          "sha256",
          CHOICE.describe() + " gives a wrong digest of \"abc\"; run with " + Natives.VARIABLE
              + "=off to use the JDK's, and report it");
      return;
    }
    findings.ok("sha256", CHOICE.describe());
  }

  private static Natives.Choice choose() {
    Optional<String> off;
    try {
      off = Natives.forcedOff();
    } catch (dev.snapstash.core.error.SnapstashException e) {
      // The command line refuses such a value before anything runs; a library caller gets the safe path.
      off = Optional.of(e.getMessage());
    }
    return choose(off, () -> NativeSha256.available() ? null : NativeSha256.UNAVAILABLE, () -> NativeSha256.LIBRARY);
  }

  /**
   * The choice, from the switch and, only when it allows, whether libcrypto loads (null: it did) and by which
   * name: with the switch off, libcrypto is never looked for.
   */
  static Natives.Choice choose(Optional<String> off, Supplier<String> unavailable, Supplier<String> library) {
    if (off.isPresent()) {
      return new Natives.Choice("sha256", false, JDK, off.get());
    }
    String why = unavailable.get();
    if (why != null) {
      return new Natives.Choice("sha256", false, JDK, "libcrypto did not load: " + why);
    }
    return new Natives.Choice("sha256", true, "native", library.get() + " through JNA");
  }

  private static final String JDK = "JDK MessageDigest";
}
