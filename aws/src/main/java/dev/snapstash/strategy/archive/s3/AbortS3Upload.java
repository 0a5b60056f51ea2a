package dev.snapstash.strategy.archive.s3;

import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.NoSuchUploadException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * An archive being uploaded: journaled before its multipart upload is even created, so that a run killed at any
 * point leaves a step that finds it. Undoing aborts every unfinished multipart upload of the archive's key (which
 * removes its parts: none is left to be billed) and removes the checksum object unless the archive it describes
 * was completed; never a complete archive.
 *
 * @param target the bucket, and how to reach it (credentials by reference only)
 * @param key the archive object's key
 * @param checksumKey the {@code <key>.sha256} object written just before the upload is completed
 */
public record AbortS3Upload(S3Target target, String key, String checksumKey) implements Undo {
  public static final String NAME = "abort-s3-upload";

  @Override
  public int order() {
    return DELETE;
  }

  @Override
  public String describe() {
    return "abort the upload of " + key + " to " + target.describe();
  }

  @Override
  public void undo(Services services) {
    try (S3Client s3 = target.client(2)) {
      undo(s3, null);
    } catch (RuntimeException e) {
      throw S3Errors.map(e, target, "abort the upload of " + key);
    }
  }

  /** With a client at hand; {@code uploadId}, when known, is aborted even if a listing does not show it yet. */
  void undo(S3Client s3, String uploadId) {
    try {
      abortAll(s3, uploadId);
    } catch (S3Exception e) {
      if (e.awsErrorDetails() != null && "NoSuchBucket".equals(e.awsErrorDetails().errorCode())) {
        return; // no bucket, no upload: the store failed before anything was sent
      }
      throw e;
    }
  }

  private void abortAll(S3Client s3, String uploadId) {
    if (uploadId != null) {
      abort(s3, uploadId);
    }
    for (MultipartUpload u : s3.listMultipartUploadsPaginator(r -> r.bucket(target.bucket()).prefix(key)).uploads()) {
      if (u.key().equals(key)) {
        abort(s3, u.uploadId());
      }
    }
    if (!exists(s3, key)) {
      s3.deleteObject(r -> r.bucket(target.bucket()).key(checksumKey));
    }
  }

  private void abort(S3Client s3, String uploadId) {
    try {
      s3.abortMultipartUpload(r -> r.bucket(target.bucket()).key(key).uploadId(uploadId));
    } catch (NoSuchUploadException e) {
      // aborted already, or completed: a complete archive is never touched
    }
  }

  static boolean exists(S3Client s3, String bucketKey, S3Target target) {
    try {
      s3.headObject(r -> r.bucket(target.bucket()).key(bucketKey));
      return true;
    } catch (NoSuchKeyException e) {
      return false;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw e;
    }
  }

  private boolean exists(S3Client s3, String bucketKey) {
    return exists(s3, bucketKey, target);
  }
}
