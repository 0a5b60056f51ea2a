package dev.snapstash.strategy.archive.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** What the provider refuses before any request: each a CONFIG error naming the key to fix. */
class S3ProviderTest {
  private static final Secret ID = Secret.ofFile(Path.of("/nonexistent/id"));
  private static final Secret SECRET = Secret.ofFile(Path.of("/nonexistent/secret"));

  private static S3Settings settings(String prefix, String storageClass, String sse, String kms, Secret id, Secret secret) {
    return new S3Settings("b", prefix, "", URI.create("http://127.0.0.1:1"), true, storageClass, sse, true, kms, id, secret, 16, 4, 3, 0);
  }

  private static void refused(S3Settings s, String key) {
    assertThatThrownBy(() -> new S3Provider().create(s, null))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
          assertThat(e.getMessage()).contains(key);
        });
  }

  @Test
  void credentialsGoInPairs() {
    refused(settings("", "STANDARD", "none", null, ID, null), "archive[].secret-access-key");
    refused(settings("", "STANDARD", "none", null, null, SECRET), "archive[].access-key-id");
  }

  @Test
  void storageClassesThatCannotBeReadBackAreRefused() {
    refused(settings("", "DEEP_ARCHIVE", "none", null, null, null), "archive[].storage-class");
    refused(settings("", "glacier", "none", null, null, null), "archive[].storage-class");
    refused(settings("", "NOT_A_CLASS", "none", null, null, null), "archive[].storage-class");
    assertThat(new S3Provider().create(settings("", "standard_ia", "none", null, null, null), null)).isNotNull();
  }

  @Test
  void aKmsKeyNeedsSseKms() {
    refused(settings("", "STANDARD", "aes256", "alias/x", null, null), "archive[].server-side-encryption");
    assertThat(new S3Provider().create(settings("", "STANDARD", "aws:kms", "alias/x", null, null), null)).isNotNull();
  }

  @Test
  void thePrefixIsOneDirectoryLevel() {
    S3ArchiveStrategy s = (S3ArchiveStrategy) new S3Provider().create(settings("/prod/bb", "STANDARD", "none", null, ID, SECRET), null);
    assertThat(s.key("bb-20261207-010000")).isEqualTo("prod/bb/bb-20261207-010000.tar.zst");
    S3ArchiveStrategy none = (S3ArchiveStrategy) new S3Provider().create(settings("", "STANDARD", "none", null, ID, SECRET), null);
    assertThat(none.key("t")).isEqualTo("t.tar.zst");
  }

  @Test
  void onlyArchivesDirectlyUnderThePrefixAreListed() {
    assertThat(S3ArchiveStrategy.tagOf("bb-20261207-010000.tar.zst")).isEqualTo("bb-20261207-010000");
    assertThat(S3ArchiveStrategy.tagOf("bb-20261207-010000.tar.zst.sha256")).isNull();
    assertThat(S3ArchiveStrategy.tagOf("other/bb-20261207-010000.tar.zst")).isNull();
    assertThat(S3ArchiveStrategy.tagOf(".tar.zst")).isNull();
  }

  @Test
  void theJournaledStepHoldsReferencesNeverSecrets() {
    S3ArchiveStrategy s = (S3ArchiveStrategy) new S3Provider().create(settings("", "STANDARD", "none", null, ID, SECRET), null);
    AbortS3Upload step = new AbortS3Upload(
        new S3Target("b", "", null, false, true, ID.reference(), SECRET.reference()), s.key("t"), s.key("t") + ".sha256");
    assertThat(step.toString()).contains("${file:/nonexistent/id}");
    assertThat(step.describe()).isEqualTo("abort the upload of t.tar.zst to s3://b");
  }
}
