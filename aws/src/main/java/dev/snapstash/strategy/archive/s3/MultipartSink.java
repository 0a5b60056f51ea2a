package dev.snapstash.strategy.archive.s3;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * The archive stream cut into parts of one multipart upload, uploaded by a few threads while the next part is
 * filled. Memory is bounded: at most {@code parallel} parts in flight plus the one being filled. Every part carries
 * its SHA-256 ({@code x-amz-checksum-sha256}), which the store checks before it accepts the part. A failed part
 * fails the next write (or {@link #finish()}); nothing is retried here beyond the SDK's own retries.
 */
final class MultipartSink extends OutputStream {
  private final S3Client s3;
  private final String bucket;
  private final String key;
  private final String uploadId;
  private final int partSize;
  private final boolean checksums;
  private final Semaphore slots;
  private final ExecutorService pool;
  private final List<Future<CompletedPart>> parts = new ArrayList<>();
  private byte[] buffer;
  private int filled;
  private long written;
  private boolean finished;

  MultipartSink(S3Client s3, String bucket, String key, String uploadId, int partSize, int parallel, boolean checksums) {
    this.checksums = checksums;
    this.s3 = s3;
    this.bucket = bucket;
    this.key = key;
    this.uploadId = uploadId;
    this.partSize = partSize;
    this.slots = new Semaphore(parallel);
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(parallel, r -> {
      Thread t = new Thread(r, "s3-part-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.buffer = new byte[partSize];
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    if (Thread.currentThread().isInterrupted()) {
      throw new InterruptedIOException("interrupted");
    }
    while (len > 0) {
      int n = Math.min(len, partSize - filled);
      System.arraycopy(b, off, buffer, filled, n);
      filled += n;
      off += n;
      len -= n;
      written += n;
      if (filled == partSize) {
        submit();
      }
    }
  }

  /** Sends the part filled so far; waits for a free slot first, which is what bounds the memory. */
  private void submit() throws IOException {
    failFast();
    try {
      slots.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting to upload a part");
    }
    byte[] part = buffer;
    int length = filled;
    int number = parts.size() + 1;
    buffer = number < 10_000 ? new byte[partSize] : null;
    filled = 0;
    try {
      parts.add(pool.submit(() -> {
        try {
          UploadPartResponse r = s3.uploadPart(
              p -> p.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                  .checksumAlgorithm(checksums ? ChecksumAlgorithm.SHA256 : null),
              RequestBody.fromBytes(length == part.length ? part : java.util.Arrays.copyOf(part, length)));
          return CompletedPart.builder().partNumber(number).eTag(r.eTag()).checksumSHA256(r.checksumSHA256()).build();
        } finally {
          slots.release();
        }
      }));
    } catch (RuntimeException e) {
      slots.release();
      throw e;
    }
    if (buffer == null) {
      throw new IOException("the archive needs more than 10,000 parts; raise archive[].part-size-mib");
    }
  }

  /** The first failure of a part already done, so that a dead store stops the stream early. */
  private void failFast() throws IOException {
    for (Future<CompletedPart> f : parts) {
      if (f.isDone()) {
        get(f);
      }
    }
  }

  /** Sends the last part, waits for every part, and returns them in order for the completion. */
  List<CompletedPart> finish() throws IOException {
    if (!finished) {
      finished = true;
      if (filled > 0 || parts.isEmpty()) {
        submit();
      }
    }
    List<CompletedPart> done = new ArrayList<>();
    for (Future<CompletedPart> f : parts) {
      done.add(get(f));
    }
    done.sort(Comparator.comparing(CompletedPart::partNumber));
    pool.shutdown();
    return done;
  }

  private static CompletedPart get(Future<CompletedPart> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for a part's upload");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IOException(e.getCause());
    }
  }

  long written() {
    return written;
  }

  int partCount() {
    return parts.size();
  }

  /**
   * Stops every part's upload and waits until none runs, so that an abort that follows cannot race a part still
   * arriving (S3 would keep such a part after the abort). The caller's interrupt status is kept.
   */
  void cancel() {
    pool.shutdownNow();
    boolean interrupted = Thread.interrupted();
    try {
      pool.awaitTermination(2, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      interrupted = true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The stream's end is {@link #finish()}; closing the stream alone neither sends nor stops anything. */
  @Override
  public void close() {}
}
