package dev.snapstash.strategy.archive.s3;

import dev.snapstash.aws.testing.S3Server;
import dev.snapstash.core.config.Secret;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.strategy.archive.ArchiveContract;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The archive contract against a real S3 API server on loopback (S3Proxy, filesystem store), through the real AWS
 * SDK: parts of 5 MiB (the smallest S3 allows), two in flight. S3Proxy 2.6 answers 501 NotImplemented to the
 * checksum headers, so {@code part-checksums} is off here. The destination's contents are every file the store
 * keeps for the bucket, unfinished uploads' parts included, and every multipart upload it lists.
 */
class S3ArchiveContractTest extends ArchiveContract {
  static final String BUCKET = "offsite";
  @TempDir Path store;
  @TempDir Path keys;
  S3Server server;

  @BeforeEach
  void startServer() throws Exception {
    server = S3Server.start(store);
    server.bucket(BUCKET);
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  /**
   * Settings as a user writes them, the keys in files named by {@code ${file:…}} references (what a journaled undo
   * step resolves again in {@code recover}).
   */
  static S3Settings settings(S3Server server, Path keys, String bucket, String prefix, String accessKey, String secretKey, int parallel)
      throws java.io.IOException {
    Files.createDirectories(keys);
    Path id = Files.writeString(keys.resolve("access-key-id"), accessKey + "\n");
    Path secret = Files.writeString(keys.resolve("secret-access-key"), secretKey + "\n");
    return new S3Settings(
        bucket, prefix, "", server.endpoint(), true, "STANDARD", "none", false, null, Secret.ofFile(id), Secret.ofFile(secret), 5,
        parallel, 3, 2);
  }

  @Override
  protected ArchiveStrategy strategy() throws Exception {
    return new S3Provider().create(settings(server, keys, BUCKET, "bitbucket/prod", S3Server.ACCESS_KEY, S3Server.SECRET_KEY, 2), null);
  }

  @Override
  protected Set<String> destinationContents() throws Exception {
    Set<String> out = new TreeSet<>(server.files(BUCKET));
    try (S3Client s3 = server.client()) {
      s3.listMultipartUploadsPaginator(r -> r.bucket(BUCKET)).uploads().forEach(u -> out.add("upload " + u.key() + " " + u.uploadId()));
    }
    return out;
  }

  @Override
  protected void damage(String tag) throws Exception {
    Path object = store.resolve(BUCKET).resolve("bitbucket/prod/" + tag + ".tar.zst");
    try (RandomAccessFile f = new RandomAccessFile(object.toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0x5a);
    }
  }
}
