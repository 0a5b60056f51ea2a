package dev.snapstash.sandbox.http;

import dev.snapstash.sandbox.SandboxKnobs;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Data Center's rate limiting as Atlassian describes it: a token bucket per user (per node; the sandbox is one),
 * one token per request with Basic or Bearer credentials, refilled at a constant rate up to the bucket's size.
 * Thread-safe.
 */
final class RateLimiter {
  private static final class Bucket {
    double tokens;
    long lastNanos;
  }

  private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();
  private final AtomicInteger refused = new AtomicInteger();

  /** Takes a token for {@code who}; returns 0 when allowed, else the milliseconds until a token is there. */
  long take(String who, SandboxKnobs.RateLimit limit) {
    Bucket b = buckets.computeIfAbsent(who, k -> {
      Bucket n = new Bucket();
      n.tokens = limit.capacity();
      n.lastNanos = System.nanoTime();
      return n;
    });
    synchronized (b) {
      long now = System.nanoTime();
      b.tokens = Math.min(limit.capacity(), b.tokens + (now - b.lastNanos) / 1e9 * limit.perSecond());
      b.lastNanos = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      refused.incrementAndGet();
      return Math.max(1, (long) Math.ceil((1 - b.tokens) / limit.perSecond() * 1000));
    }
  }

  /** Requests answered 429 so far. */
  int refused() {
    return refused.get();
  }

  /** Forgets every bucket (a knob change starts from full buckets). */
  void reset() {
    buckets.clear();
  }
}
