package dev.snapstash.strategy.archive.s3;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.strategy.archive.Sha256Sums;
import dev.snapstash.strategy.archive.TarZst;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.StorageClass;

/**
 * {@code archive[].type: s3}: each backup as the object {@code <prefix><tag>.tar.zst}, the same stream the {@code
 * tar} strategy writes, uploaded as one multipart upload whose parts go up in parallel while the backup is still
 * being read and compressed. The object exists only once {@code CompleteMultipartUpload} succeeded; before that,
 * what was sent are parts of an upload, which every failure aborts (and {@code recover} aborts after a kill). The
 * bucket is the catalogue: {@link #list} reads the listing only.
 */
final class S3ArchiveStrategy implements ArchiveStrategy {
  private static final Logger log = LoggerFactory.getLogger(S3ArchiveStrategy.class);
  static final String SUFFIX = ".tar.zst";
  static final String SUM = ".sha256";
  /** User metadata on the archive object (the SHA-256 is only known at the end, so it lives in the .sha256 object). */
  static final String META_TAG = "snapstash-tag";
  static final String META_SHA = "snapstash-sha256";
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private final S3Target target;
  private final String prefix;
  private final String storageClass;
  private final String sse;
  private final String kmsKeyId;
  private final int partSize;
  private final int parallel;
  private final int level;
  private final int workers;

  S3ArchiveStrategy(S3Target target, String prefix, String storageClass, String sse, String kmsKeyId, int partSize, int parallel, int level, int workers) {
    this.target = target;
    this.prefix = prefix;
    this.storageClass = storageClass;
    this.sse = sse;
    this.kmsKeyId = kmsKeyId;
    this.partSize = partSize;
    this.parallel = parallel;
    this.level = level;
    this.workers = workers;
  }

  @Override
  public String name() {
    return "s3";
  }

  String key(String tag) {
    return prefix + tag + SUFFIX;
  }

  private String where(String key) {
    return "s3://" + target.bucket() + "/" + key + (target.endpoint() == null ? "" : " at " + target.endpoint());
  }

  @Override
  public void check(Findings findings) {
    try (S3Client s3 = target.client(2)) {
      s3.listObjectsV2(r -> r.bucket(target.bucket()).prefix(prefix).maxKeys(1));
      findings.ok("bucket", target.describe() + (prefix.isEmpty() ? "" : ", prefix " + prefix) + ", listed");
    } catch (RuntimeException e) {
      findings.problem("bucket", S3Errors.map(e, target, "list the archives"));
    }
  }

  @Override
  public Stored store(Source source, UndoLog undo) {
    String key = key(source.tag());
    String checksumKey = key + SUM;
    try (S3Client s3 = target.client(parallel + 1)) {
      if (AbortS3Upload.exists(s3, key, target)) {
        throw SnapstashException.precondition(where(key) + " exists already; a tag is archived once");
      }
      // Journaled before the upload exists: a kill between its creation and the first part still finds it.
      AbortS3Upload step = new AbortS3Upload(target, key, checksumKey);
      undo.add(step);
      String uploadId = null;
      MultipartSink sink = null;
      try {
        uploadId = s3.createMultipartUpload(create(key, source)).uploadId();
        sink = new MultipartSink(s3, target.bucket(), key, uploadId, partSize, parallel, target.checksums());
        MessageDigest whole = TarZst.sha256();
        long members;
        try (DigestOutputStream out = new DigestOutputStream(sink, whole)) {
          members = TarZst.write(out, source.tag(), source.dir(), level, workers);
        }
        List<CompletedPart> parts = sink.finish();
        String hex = HexFormat.of().formatHex(whole.digest());
        String fileName = source.tag() + SUFFIX;
        // The checksum object first, so that a complete archive never lacks one; the completion is the commit.
        s3.putObject(
            r -> r.bucket(target.bucket()).key(checksumKey).contentType("text/plain").metadata(Map.of(META_SHA, hex))
                .checksumAlgorithm(target.checksums() ? ChecksumAlgorithm.SHA256 : null),
            RequestBody.fromString(Sha256Sums.line(hex, fileName), StandardCharsets.UTF_8));
        if (Thread.currentThread().isInterrupted()) {
          throw new InterruptedIOException("interrupted before the upload was completed");
        }
        String id = uploadId;
        s3.completeMultipartUpload(r -> r.bucket(target.bucket()).key(key).uploadId(id).multipartUpload(m -> m.parts(parts)));
        undo.done(step);
        log.info("archived {} to {}: {} bytes in {} parts", source.tag(), where(key), sink.written(), parts.size());
        return new Stored(source.tag(), where(key), sink.written(), hex, members);
      } catch (IOException | RuntimeException e) {
        boolean interrupted = S3Errors.interrupted(e);
        Thread.interrupted(); // the clean-up must reach the store; the status is set again below
        if (sink != null) {
          sink.cancel();
        }
        try {
          step.undo(s3, uploadId);
          undo.done(step);
        } catch (RuntimeException cleanup) {
          // The journal keeps the step: recover aborts the upload once the store answers again.
          e.addSuppressed(cleanup);
          log.warn("could not abort the upload of {} yet; `snapstash recover` retries it", where(key));
        } finally {
          if (interrupted) {
            Thread.currentThread().interrupt();
          }
        }
        if (interrupted) {
          throw new SnapstashException(ErrorKind.INTERRUPTED, "the upload to " + where(key) + " was interrupted; it was aborted", e);
        }
        throw S3Errors.map(e, target, "upload " + key);
      }
    } catch (RuntimeException e) {
      throw S3Errors.map(e, target, "upload " + key);
    }
  }

  private CreateMultipartUploadRequest create(String key, Source source) {
    CreateMultipartUploadRequest.Builder b = CreateMultipartUploadRequest.builder()
        .bucket(target.bucket())
        .key(key)
        .contentType("application/zstd")
        .metadata(Map.of(META_TAG, source.tag()));
    if (!storageClass.equals("STANDARD")) {
      b.storageClass(StorageClass.fromValue(storageClass));
    }
    if (target.checksums()) {
      b.checksumAlgorithm(ChecksumAlgorithm.SHA256);
    }
    switch (sse) {
      case "aes256" -> b.serverSideEncryption(ServerSideEncryption.AES256);
      case "aws:kms" -> {
        b.serverSideEncryption(ServerSideEncryption.AWS_KMS);
        if (kmsKeyId != null && !kmsKeyId.isBlank()) {
          b.ssekmsKeyId(kmsKeyId);
        }
      }
      default -> {
        // the bucket's default encryption
      }
    }
    return b.build();
  }

  @Override
  public List<Archived> list() {
    List<Archived> out = new ArrayList<>();
    try (S3Client s3 = target.client(2)) {
      for (S3Object o : s3.listObjectsV2Paginator(r -> r.bucket(target.bucket()).prefix(prefix)).contents()) {
        String tag = tagOf(o.key().substring(prefix.length()));
        if (tag != null) {
          out.add(new Archived(tag, startedAt(tag, o.lastModified()), o.size(), o.lastModified()));
        }
      }
    } catch (RuntimeException e) {
      throw S3Errors.map(e, target, "list the archives");
    }
    out.sort(Comparator.comparing(Archived::startedAt).thenComparing(Archived::tag).reversed());
    return out;
  }

  /** The tag an object's name (after the prefix) holds, or null for any other object. */
  static String tagOf(String name) {
    if (name.endsWith(SUFFIX) && name.length() > SUFFIX.length() && name.indexOf('/') < 0 && !name.startsWith(".")) {
      return name.substring(0, name.length() - SUFFIX.length());
    }
    return null;
  }

  private static Instant startedAt(String tag, Instant fallback) {
    if (tag.length() > 16 && tag.charAt(tag.length() - 16) == '-') {
      try {
        return Instant.from(STAMP.parse(tag.substring(tag.length() - 15)));
      } catch (DateTimeParseException e) {
        // not a tag snapstash made
      }
    }
    return fallback;
  }

  @Override
  public Reader open(String tag) {
    String key = key(tag);
    S3Client s3 = target.client(2);
    try {
      String expected;
      try {
        String text = s3.getObjectAsBytes(r -> r.bucket(target.bucket()).key(key + SUM)).asUtf8String();
        expected = Sha256Sums.parse(text).get(tag + SUFFIX);
        if (expected == null) {
          throw new SnapstashException(ErrorKind.VERIFICATION, where(key + SUM) + " does not name " + tag + SUFFIX);
        }
      } catch (NoSuchKeyException e) {
        if (!AbortS3Upload.exists(s3, key, target)) {
          throw SnapstashException.precondition(
              "there is no archive of " + tag + " in " + target.describe() + "; `snapstash list --from` shows what there is");
        }
        throw new SnapstashException(ErrorKind.VERIFICATION, where(key) + " has no checksum object " + key + SUM, e);
      } catch (IllegalArgumentException e) {
        throw new SnapstashException(ErrorKind.VERIFICATION, "cannot read the checksum of " + where(key) + ": " + e.getMessage(), e);
      }
      ResponseInputStream<GetObjectResponse> body = s3.getObject(r -> r.bucket(target.bucket()).key(key));
      Reader reader = TarZst.read(tag, new Abortable(body), expected);
      return new Reader() {
        @Override
        public Member next() throws IOException {
          return reader.next();
        }

        @Override
        public InputStream content() {
          return reader.content();
        }

        @Override
        public void close() throws IOException {
          try {
            reader.close();
          } finally {
            s3.close();
          }
        }
      };
    } catch (IOException | RuntimeException e) {
      s3.close();
      if (e instanceof S3Exception s && s.statusCode() == 404) {
        throw SnapstashException.precondition(
            "there is no archive of " + tag + " in " + target.describe() + "; `snapstash list --from` shows what there is");
      }
      throw S3Errors.map(e, target, "read " + key);
    }
  }

  @Override
  public void delete(String tag) {
    String key = key(tag);
    try (S3Client s3 = target.client(2)) {
      // The archive first: a copy without its checksum is refused as damaged, one without data would be lost.
      s3.deleteObject(r -> r.bucket(target.bucket()).key(key));
      s3.deleteObject(r -> r.bucket(target.bucket()).key(key + SUM));
    } catch (RuntimeException e) {
      throw S3Errors.map(e, target, "delete " + key);
    }
  }

  /** The object's body; closing it before the end aborts the connection instead of downloading the rest. */
  private static final class Abortable extends FilterInputStream {
    private final ResponseInputStream<GetObjectResponse> body;
    private boolean ended;

    Abortable(ResponseInputStream<GetObjectResponse> body) {
      super(body);
      this.body = body;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      ended |= b < 0;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      ended |= n < 0;
      return n;
    }

    @Override
    public void close() throws IOException {
      if (!ended) {
        body.abort();
      }
      body.close();
    }
  }
}
