package dev.snapstash.strategy.archive.s3;

import dev.snapstash.core.config.Rules;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveProvider;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;
import software.amazon.awssdk.services.s3.model.StorageClass;

/** {@code archive[].type: s3}. */
public final class S3Provider implements ArchiveProvider<S3Settings> {
  @Override
  public String name() {
    return "s3";
  }

  @Override
  public String summary() {
    return "one `.tar.zst` object per backup in an S3 bucket (AWS S3 or any S3-compatible store), uploaded in parallel"
        + " parts with a checksum on each";
  }

  @Override
  public Class<S3Settings> settingsType() {
    return S3Settings.class;
  }

  @Override
  public Map<String, UnaryOperator<Object>> rules() {
    return Map.of(
        "level", Rules.between(1, 19),
        "workers", Rules.atLeast(0),
        "part-size-mib", Rules.between(5, 5120),
        "parallel-parts", Rules.between(1, 64),
        "server-side-encryption", Rules.oneOf("none", "aes256", "aws:kms"));
  }

  @Override
  public ArchiveStrategy create(S3Settings s, Services services) {
    if (s.bucket() == null || s.bucket().isBlank()) {
      throw SnapstashException.config("archive[].bucket is required for an s3 destination");
    }
    if ((s.accessKeyId() == null) != (s.secretAccessKey() == null)) {
      throw SnapstashException.config(
          "archive[].access-key-id and archive[].secret-access-key go together: set both, or neither to use the SDK's"
              + " default credentials");
    }
    String storageClass = s.storageClass().toUpperCase(Locale.ROOT);
    if (StorageClass.fromValue(storageClass) == StorageClass.UNKNOWN_TO_SDK_VERSION) {
      throw SnapstashException.config("archive[].storage-class: '" + s.storageClass() + "' is not an S3 storage class (STANDARD, STANDARD_IA, …)");
    }
    if (storageClass.equals("GLACIER") || storageClass.equals("DEEP_ARCHIVE")) {
      throw SnapstashException.config(
          "archive[].storage-class: " + storageClass + " objects must be restored by hand before they can be read;"
              + " use GLACIER_IR, or a lifecycle rule on the bucket to move old archives there");
    }
    if (s.kmsKeyId() != null && !s.serverSideEncryption().equals("aws:kms")) {
      throw SnapstashException.config("archive[].kms-key-id is set but archive[].server-side-encryption is not aws:kms");
    }
    String prefix = s.prefix().strip();
    while (prefix.startsWith("/")) {
      prefix = prefix.substring(1);
    }
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      prefix += "/";
    }
    S3Target target = new S3Target(
        s.bucket().strip(), s.region(), s.endpoint(), s.pathStyle(), s.partChecksums(),
        s.accessKeyId() == null ? null : s.accessKeyId().reference(),
        s.secretAccessKey() == null ? null : s.secretAccessKey().reference());
    return new S3ArchiveStrategy(
        target, prefix, storageClass, s.serverSideEncryption(), s.kmsKeyId(), s.partSizeMib() << 20, s.parallelParts(),
        s.level(), s.workers());
  }

  @Override
  public Map<String, Class<? extends Undo>> undoTypes() {
    return Map.of(AbortS3Upload.NAME, AbortS3Upload.class);
  }
}
