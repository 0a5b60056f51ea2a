package dev.snapstash.strategy.archive.s3;

import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.SnapstashException;
import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;

/**
 * Where a bucket is and how to sign for it, with the credentials as references only ({@code ${env:…}}), so that a
 * journaled undo step can build the same client in {@code recover} and no secret is ever written down.
 *
 * @param region empty for the SDK's default
 * @param endpoint null for AWS S3
 * @param checksums whether requests carry checksum headers (the SDK's own CRC32 included); off for stores that
 *     refuse them
 * @param accessKeyId the reference text of {@code access-key-id}, null for the default credential chain
 * @param secretAccessKey the reference text of {@code secret-access-key}, null with {@code accessKeyId}
 */
public record S3Target(
    String bucket, String region, URI endpoint, boolean pathStyle, boolean checksums, String accessKeyId, String secretAccessKey) {

  /** A client for this bucket; the caller closes it. Builds only: no request is made. */
  S3Client client(int connections) {
    var http = ApacheHttpClient.builder().maxConnections(Math.max(connections, 2));
    var b = S3Client.builder()
        .httpClientBuilder(http)
        .region(signingRegion())
        .credentialsProvider(credentials())
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(pathStyle).build());
    if (!checksums) {
      b.requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    }
    if (endpoint != null) {
      b.endpointOverride(endpoint);
    }
    return b.build();
  }

  private Region signingRegion() {
    if (!region.isEmpty()) {
      return Region.of(region);
    }
    try {
      return new DefaultAwsRegionProviderChain().getRegion();
    } catch (RuntimeException e) {
      // An S3-compatible store ignores the region but the signature needs one.
      return Region.US_EAST_1;
    }
  }

  private AwsCredentialsProvider credentials() {
    if (accessKeyId == null) {
      return DefaultCredentialsProvider.builder().build();
    }
    String id = reveal("archive[].access-key-id", accessKeyId);
    String secret = reveal("archive[].secret-access-key", secretAccessKey);
    return StaticCredentialsProvider.create(AwsBasicCredentials.create(id, secret));
  }

  private static String reveal(String key, String reference) {
    try {
      return Secret.parse(key, reference).reveal();
    } catch (SnapstashException e) {
      throw new SnapstashException(e.kind(), key + ": " + e.getMessage(), e);
    }
  }

  /** For a person: the bucket and where it is; never a credential. */
  String describe() {
    return "s3://" + bucket + (endpoint == null ? "" : " at " + endpoint);
  }
}
