package dev.snapstash.core.util;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DigestsTest {
  /** Around SHA-256's 64-byte block and its padding, and around the 64 KiB chunk the native path reads. */
  private static final int[] SIZES = {0, 1, 55, 56, 63, 64, 65, 4096, 65_535, 65_536, 65_537, 200_001};

  @Test
  void libcryptoGivesTheJdksDigestForFilesAndArraysOfEverySize(@TempDir Path dir) throws Exception {
    Tools.requireThat(NativeSha256.available(), "libcrypto did not load: " + NativeSha256.UNAVAILABLE);
    Random random = new Random(42);
    for (int size : SIZES) {
      byte[] data = new byte[size + 7];
      random.nextBytes(data);
      Path file = Files.write(dir.resolve("f" + size), java.util.Arrays.copyOfRange(data, 3, 3 + size));

      String jdk = HexFormat.of().formatHex(Digests.jdkDigest(data, 3, size));
      assertThat(HexFormat.of().formatHex(Digests.jdkDigest(file))).as("JDK, file of %d bytes", size).isEqualTo(jdk);
      assertThat(HexFormat.of().formatHex(NativeSha256.digest(data, 3, size)))
          .as("libcrypto, %d bytes at an offset", size)
          .isEqualTo(jdk);
      assertThat(HexFormat.of().formatHex(NativeSha256.digest(file))).as("libcrypto, file of %d bytes", size).isEqualTo(jdk);
      assertThat(Digests.sha256(file)).isEqualTo(jdk);
      assertThat(Digests.sha256(data, 3, size)).isEqualTo(jdk);
    }
  }

  /** With the switch off, libcrypto is not even looked for: the JDK's digest, and the switch named as the reason. */
  @Test
  void withTheSwitchOffTheJdkDigestIsTakenWithoutLookingForLibcrypto() {
    java.util.function.Supplier<String> never = () -> {
      throw new AssertionError("libcrypto looked for although the switch is off");
    };
    Natives.Choice off = Digests.choose(java.util.Optional.of("SNAPSTASH_NATIVE=off"), never, never);
    assertThat(off.nativePath()).isFalse();
    assertThat(off.describe()).isEqualTo("JDK MessageDigest (SNAPSTASH_NATIVE=off)");

    Natives.Choice missing = Digests.choose(java.util.Optional.empty(), () -> "libcrypto is not installed", never);
    assertThat(missing.nativePath()).isFalse();
    assertThat(missing.describe()).isEqualTo("JDK MessageDigest (libcrypto did not load: libcrypto is not installed)");

    Natives.Choice loaded = Digests.choose(java.util.Optional.empty(), () -> null, () -> "libcrypto.so.3");
    assertThat(loaded.nativePath()).isTrue();
    assertThat(loaded.describe()).isEqualTo("native (libcrypto.so.3 through JNA)");
  }

  /**
   * The digest this process takes is the one the switch allows: in .ci/run's second pass, with natives off, the
   * JDK's, and every other test of this class then checks the JDK's digests.
   */
  @Test
  void thisProcessTakesThePathTheSwitchAllows() {
    java.util.Optional<String> off = Natives.forcedOff();
    if (off.isPresent()) {
      assertThat(Digests.choice().nativePath()).isFalse();
      assertThat(Digests.choice().why()).isEqualTo(off.get());
    } else {
      Tools.requireThat(NativeSha256.available(), "libcrypto did not load: " + NativeSha256.UNAVAILABLE);
      assertThat(Digests.choice().nativePath()).isTrue();
      assertThat(Digests.choice().why()).startsWith(NativeSha256.LIBRARY);
    }
    var findings = new dev.snapstash.core.spi.Findings();
    Digests.check(findings);
    assertThat(findings.all()).singleElement().satisfies(f -> {
      assertThat(f.subject()).isEqualTo("sha256");
      assertThat(f.problem()).isFalse();
      assertThat(f.message()).isEqualTo(Digests.choice().describe());
    });
  }

  @Test
  void knownAnswers() {
    assertThat(Digests.sha256(new byte[0])).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assertThat(Digests.sha256("abc".getBytes(java.nio.charset.StandardCharsets.US_ASCII)))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  @Test
  void concurrentThreadsKeepTheirOwnContexts(@TempDir Path dir) throws Exception {
    Tools.requireThat(NativeSha256.available(), "libcrypto did not load: " + NativeSha256.UNAVAILABLE);
    byte[] a = new byte[300_000];
    byte[] b = new byte[300_000];
    new Random(1).nextBytes(a);
    new Random(2).nextBytes(b);
    String da = HexFormat.of().formatHex(Digests.jdkDigest(a, 0, a.length));
    String db = HexFormat.of().formatHex(Digests.jdkDigest(b, 0, b.length));
    var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      var futures = new java.util.ArrayList<java.util.concurrent.Future<Boolean>>();
      for (int i = 0; i < 400; i++) {
        boolean even = i % 2 == 0;
        futures.add(pool.submit(() -> Digests.sha256(even ? a : b).equals(even ? da : db)));
      }
      for (var f : futures) {
        assertThat(f.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
