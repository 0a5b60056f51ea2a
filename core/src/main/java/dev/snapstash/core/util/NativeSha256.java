package dev.snapstash.core.util;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * SHA-256 through OpenSSL's libcrypto (JNA, direct mapping), which {@link Digests} prefers when it loads.
 *
 * <p>Why not only {@link java.security.MessageDigest}: the JDK's SHA-256 is fast only once C2 has compiled it with
 * its intrinsic. The JVM's second compiler was about a quarter of an incremental backup's CPU on the benchmark
 * (docs/performance.md), and a JVM limited to the first compiler ({@code -XX:TieredStopAtLevel=1}, which the
 * {@code snapstash} launcher asks for) hashes ten times slower in Java. libcrypto hashes at the CPU's speed in either
 * case, with the SHA extensions where the CPU has them, and reads each file into one direct buffer without a copy.
 */
final class NativeSha256 {
  private NativeSha256() {}

  private static final int CHUNK = 1 << 16;

  /** Why libcrypto did not load, or null when it did. */
  static final String UNAVAILABLE;

  /** The name libcrypto was found by ({@code libcrypto.so.3}), or null. */
  static final String LIBRARY;

  static {
    String why = null;
    String name = null;
    try {
      name = load();
    } catch (IOException | LinkageError e) {
      why = e.getMessage() == null ? e.toString() : e.getMessage(); // never null: null means loaded
    }
    UNAVAILABLE = why;
    LIBRARY = name;
  }

  /** One context and buffer per thread, freed by JNA and the JDK when the thread's state is collected. */
  private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

  static boolean available() {
    return UNAVAILABLE == null;
  }

  static byte[] digest(Path file) throws IOException {
    State s = STATE.get();
    s.init();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      while (ch.read(s.buffer) >= 0) {
        s.update();
      }
    }
    return s.finish();
  }

  static byte[] digest(byte[] data, int offset, int length) {
    State s = STATE.get();
    s.init();
    for (int at = offset, end = offset + length, n; at < end; at += n) {
      n = Math.min(CHUNK, end - at);
      s.buffer.put(data, at, n);
      s.update();
    }
    return s.finish();
  }

  private static final class State {
    /** A SHA256_CTX: eight words of state, two of length, a 64-byte block, two ints; 112 bytes on every ABI. */
    final Memory ctx = new Memory(128);
    final ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK);

    /** Starts a digest, with an empty buffer (a read that failed may have left bytes in it). */
    void init() {
      buffer.clear();
      check(Crypto.SHA256_Init(ctx), "SHA256_Init");
    }

    /**
     * Hashes what was put into the buffer, then empties it. JNA passes a direct buffer's address at its position,
     * hence the flip.
     */
    void update() {
      buffer.flip();
      check(Crypto.SHA256_Update(ctx, buffer, buffer.remaining()), "SHA256_Update");
      buffer.clear();
    }

    byte[] finish() {
      byte[] out = new byte[32];
      check(Crypto.SHA256_Final(out, ctx), "SHA256_Final");
      return out;
    }
  }

  private static void check(int ok, String call) {
    if (ok != 1) {
      throw new IllegalStateException("libcrypto's " + call + " failed");
    }
  }

  /**
   * Finds libcrypto by its run-time names (the unversioned {@code libcrypto.so} comes only with the development
   * package). The low-level SHA256_* calls, deprecated in OpenSSL 3 but exported by 1.1 and 3 alike, are used rather
   * than EVP_Digest*: OpenSSL 3's EVP layer adds provider bookkeeping to every digest, and the change tracker takes
   * 80,000 small ones per backup. Through SHA256_* a 600-byte digest costs about 1 us here, 64 MiB about 60 ms.
   */
  private static String load() throws IOException {
    if (Native.SIZE_T_SIZE != 8) {
      throw new IOException("SHA-256 through libcrypto is mapped for 64-bit platforms only");
    }
    NativeLibrary lib = null;
    LinkageError last = null;
    String found = null;
    for (String name : List.of("libcrypto.so.3", "libcrypto.so.1.1", "crypto")) {
      try {
        lib = NativeLibrary.getInstance(name);
        found = name;
        break;
      } catch (LinkageError e) {
        last = e;
      }
    }
    if (lib == null) {
      throw new IOException("libcrypto is not installed (" + last.getMessage() + ")");
    }
    Native.register(Crypto.class, lib);
    return found;
  }

  /** The C names, as libcrypto exports them. */
  private static final class Crypto {
    static native int SHA256_Init(Pointer ctx);

    static native int SHA256_Update(Pointer ctx, ByteBuffer data, long length);

    static native int SHA256_Final(byte[] md, Pointer ctx);
  }
}
