package dev.snapstash.core.util;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * bench/sha256's driver: hashes every regular file under a directory, in one fresh JVM, the way a backup's
 * checksums do (one file after another), through libcrypto or through the JDK, and prints the milliseconds taken.
 * In this package to reach the two paths {@link Digests} chooses between.
 */
public final class Sha256Bench {
  private Sha256Bench() {}

  public static void main(String[] args) throws Exception {
    boolean nativePath = switch (args[0]) {
      case "libcrypto" -> true;
      case "jdk" -> false;
      default -> throw new IllegalArgumentException("libcrypto or jdk, not " + args[0]);
    };
    if (nativePath && !NativeSha256.available()) {
      throw new IllegalStateException("libcrypto did not load: " + NativeSha256.UNAVAILABLE);
    }
    List<Path> files;
    try (Stream<Path> s = Files.walk(Path.of(args[1]))) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    long t0 = System.nanoTime();
    long check = 0;
    for (Path f : files) {
      byte[] d = nativePath ? NativeSha256.digest(f) : Digests.jdkDigest(f);
      check += d[0];
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.println(ms + " " + files.size() + " " + check);
  }
}
