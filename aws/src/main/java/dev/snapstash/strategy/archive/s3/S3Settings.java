package dev.snapstash.strategy.archive.s3;

import dev.snapstash.core.config.Key;
import dev.snapstash.core.config.Secret;
import java.net.URI;

/** The keys of an {@code s3} entry of {@code archive}. */
public record S3Settings(
    @Key(doc = "The bucket the archives are written to. It must exist; snapstash never creates or configures it.", required = true)
        String bucket,
    @Key(
            doc =
                "A key prefix inside the bucket (`bitbucket/prod/`); each backup becomes the object"
                    + " `<prefix><tag>.tar.zst`, with its SHA-256 in `<prefix><tag>.tar.zst.sha256` beside it.",
            def = "")
        String prefix,
    @Key(
            doc =
                "The bucket's region (`eu-west-1`). Empty takes the SDK's default (`AWS_REGION`, the profile, the"
                    + " instance metadata), and `us-east-1` for an `endpoint` with none of those.",
            def = "")
        String region,
    @Key(
            doc =
                "The URL of an S3-compatible store (MinIO, Ceph RGW, a NAS's S3 service): `https://s3.example.com:9000`."
                    + " Unset talks to AWS S3 in `region`.")
        URI endpoint,
    @Key(
            doc =
                "Path-style addressing (`https://host/bucket/key`) instead of virtual-hosted (`https://bucket.host/key`);"
                    + " most S3-compatible stores need it.",
            def = "false")
        boolean pathStyle,
    @Key(
            doc =
                "The storage class of the archive objects: `STANDARD`, `STANDARD_IA`, `ONEZONE_IA`,"
                    + " `INTELLIGENT_TIERING`, `GLACIER_IR` (classes that need a restore request before a read, such as"
                    + " `GLACIER` and `DEEP_ARCHIVE`, cannot be restored from by snapstash).",
            def = "STANDARD")
        String storageClass,
    @Key(
            doc =
                "Server-side encryption of the objects: `none` (the bucket's default), `aes256` (SSE-S3) or `aws:kms`"
                    + " (SSE-KMS, with `kms-key-id`).",
            def = "none")
        String serverSideEncryption,
    @Key(
            doc =
                "Send each part's SHA-256 (`x-amz-checksum-sha256`) for the store to check before it accepts the part."
                    + " Turn it off only for an S3-compatible store that answers 501 NotImplemented to those headers"
                    + " (S3Proxy 2.6, some older MinIO and Ceph releases); restores still check every member's SHA-256"
                    + " and the whole object's.",
            def = "true")
        boolean partChecksums,
    @Key(doc = "The KMS key (id, ARN or alias) for `server-side-encryption: aws:kms`; unset uses the account's `aws/s3` key.")
        String kmsKeyId,
    @Key(
            doc =
                "The access key id, as a secret reference (`${env:NAME}`, `${file:/path}`). Unset, with"
                    + " `secret-access-key` unset too, takes the SDK's default credential chain (environment, profile,"
                    + " instance or task role).",
            secret = true)
        Secret accessKeyId,
    @Key(doc = "The secret access key that goes with `access-key-id`, as a secret reference.", secret = true)
        Secret secretAccessKey,
    @Key(
            doc =
                "The size of each part of the multipart upload, in MiB (5 to 5120). An archive can have 10,000 parts:"
                    + " 16 MiB parts allow 156 GiB, raise it for larger backups.",
            def = "16")
        int partSizeMib,
    @Key(
            doc =
                "How many parts are uploaded at once. Memory used is about `part-size-mib` times one more than this.",
            def = "4")
        int parallelParts,
    @Key(doc = "The zstd compression level, 1 (fastest) to 19 (smallest).", def = "3") int level,
    @Key(doc = "zstd compression threads; 0 uses every processor.", def = "0") int workers) {
  public S3Settings {
    prefix = prefix == null ? "" : prefix;
    region = region == null ? "" : region.strip();
    storageClass = storageClass == null ? "STANDARD" : storageClass.strip();
    serverSideEncryption = serverSideEncryption == null ? "none" : serverSideEncryption.strip();
  }
}
