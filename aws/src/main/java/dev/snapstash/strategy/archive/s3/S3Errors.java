package dev.snapstash.strategy.archive.s3;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import software.amazon.awssdk.core.exception.AbortedException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** What an S3 failure means for the administrator: one sentence naming the key to fix, never a credential. */
final class S3Errors {
  private S3Errors() {}

  /**
   * @param doing what was being done, for the sentence ("list the archives")
   */
  static SnapstashException map(Throwable e, S3Target target, String doing) {
    if (e instanceof SnapstashException s) {
      return s;
    }
    String where = target.describe();
    if (e instanceof S3Exception s3) {
      String code = s3.awsErrorDetails() == null ? null : s3.awsErrorDetails().errorCode();
      int status = s3.statusCode();
      if ("NoSuchBucket".equals(code)) {
        return SnapstashException.config(
            "cannot " + doing + ": the bucket " + target.bucket() + " does not exist"
                + (target.endpoint() == null ? "" : " at " + target.endpoint())
                + "; create it or fix archive[].bucket");
      }
      if (code == null && status == 403 || "InvalidAccessKeyId".equals(code) || "SignatureDoesNotMatch".equals(code)
          || "InvalidToken".equals(code) || "ExpiredToken".equals(code)) {
        return new SnapstashException(
            ErrorKind.AUTHENTICATION,
            "cannot " + doing + " in " + where + ": the store refused the credentials (" + (code == null ? "HTTP 403" : code)
                + "); check archive[].access-key-id and archive[].secret-access-key, or the SDK's default credentials",
            e);
      }
      if (status == 403) {
        return new SnapstashException(
            ErrorKind.AUTHENTICATION,
            "cannot " + doing + " in " + where + ": access denied (" + code + "); the credentials of"
                + " archive[].access-key-id and archive[].secret-access-key (or the default chain) need s3:PutObject,"
                + " GetObject, ListBucket, DeleteObject and AbortMultipartUpload on it",
            e);
      }
      if (status == 301 || "PermanentRedirect".equals(code) || "AuthorizationHeaderMalformed".equals(code)) {
        return SnapstashException.config(
            "cannot " + doing + " in " + where + ": the bucket is in another region (" + code + "); fix archive[].region");
      }
      return SnapstashException.storage("cannot " + doing + " in " + where + ": " + (code == null ? "HTTP " + status : code)
          + ": " + s3.getMessage(), e);
    }
    if (interrupted(e)) {
      return new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while trying to " + doing + " in " + where, e);
    }
    if (e instanceof SdkClientException) {
      String msg = e.getMessage();
      if (msg != null && msg.contains("credentials")) {
        return new SnapstashException(
            ErrorKind.AUTHENTICATION,
            "cannot " + doing + " in " + where + ": no AWS credentials were found; set archive[].access-key-id and"
                + " archive[].secret-access-key, or give the SDK's default chain some (AWS_ACCESS_KEY_ID, a profile, a role)",
            e);
      }
      return new SnapstashException(
          ErrorKind.UNREACHABLE,
          "cannot " + doing + ": " + where + " is not reachable (" + firstLine(msg) + "); check archive[].endpoint and archive[].region",
          e);
    }
    if (e instanceof SdkException) {
      return SnapstashException.storage("cannot " + doing + " in " + where + ": " + firstLine(e.getMessage()), e);
    }
    return SnapstashException.storage("cannot " + doing + " in " + where + ": " + e, e);
  }

  /** Whether {@code e} is what an interrupt of the calling thread became inside the SDK or the HTTP client. */
  static boolean interrupted(Throwable e) {
    if (Thread.currentThread().isInterrupted()) {
      return true;
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof AbortedException || t instanceof InterruptedException || t instanceof java.io.InterruptedIOException
          || t instanceof java.nio.channels.ClosedByInterruptException) {
        return true;
      }
    }
    return false;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "no detail";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
