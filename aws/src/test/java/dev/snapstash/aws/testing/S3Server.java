package dev.snapstash.aws.testing;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3 API server (S3Proxy over jclouds' filesystem store) in this JVM, on a free loopback port, with AWS
 * signature v4 and one key pair. Its objects are plain files under {@link #dir()}, so a test can see every byte the
 * store keeps (parts of unfinished uploads included) and damage one. It can be stopped and started again on the
 * same port and directory, as a store that goes away mid-upload and comes back.
 */
public final class S3Server implements AutoCloseable {
  public static final String ACCESS_KEY = "snapstash-test-access";
  public static final String SECRET_KEY = "snapstash-test-secret-key";

  private final Path dir;
  private volatile int port;
  private volatile BlobStoreContext context;
  private volatile S3Proxy proxy;

  private S3Server(Path dir) {
    this.dir = dir;
  }

  /** Starts a server keeping its buckets in {@code dir}. */
  public static S3Server start(Path dir) throws Exception {
    S3Server s = new S3Server(dir);
    s.startAt(0);
    return s;
  }

  private void startAt(int wanted) throws Exception {
    Properties p = new Properties();
    p.setProperty("jclouds.filesystem.basedir", dir.toString());
    context = ContextBuilder.newBuilder("filesystem").credentials("identity", "credential").overrides(p).build(BlobStoreContext.class);
    proxy = S3Proxy.builder()
        .blobStore(context.getBlobStore())
        .endpoint(URI.create("http://127.0.0.1:" + wanted))
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
        .build();
    proxy.start();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!"STARTED".equals(proxy.getState())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("S3Proxy did not start: " + proxy.getState());
      }
      Thread.sleep(5);
    }
    port = proxy.getPort();
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  public Path dir() {
    return dir;
  }

  /** Creates a bucket (a directory of the filesystem store). */
  public void bucket(String name) throws IOException {
    Files.createDirectories(dir.resolve(name));
  }

  /** A client with the server's credentials, for what a test checks beside the strategy. */
  public S3Client client() {
    return S3Client.builder()
        .endpointOverride(endpoint())
        .region(Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .httpClientBuilder(software.amazon.awssdk.http.apache.ApacheHttpClient.builder())
        // S3Proxy 2.6 answers 501 to the checksum headers the SDK adds by default.
        .requestChecksumCalculation(software.amazon.awssdk.core.checksums.RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(software.amazon.awssdk.core.checksums.ResponseChecksumValidation.WHEN_REQUIRED)
        .build();
  }

  /** Every file the store keeps for {@code bucket}, relative to it: objects, and whatever holds unfinished parts. */
  public Set<String> files(String bucket) throws IOException {
    Set<String> out = new TreeSet<>();
    Path b = dir.resolve(bucket);
    if (!Files.isDirectory(b)) {
      return out;
    }
    try (Stream<Path> s = Files.walk(b)) {
      s.filter(Files::isRegularFile).forEach(f -> out.add(b.relativize(f).toString()));
    }
    return out;
  }

  /** Stops serving (connections in progress fail); the files stay. */
  public synchronized void stop() throws Exception {
    if (proxy != null) {
      proxy.stop();
      proxy = null;
    }
    if (context != null) {
      context.close();
      context = null;
    }
  }

  /** Serves the same directory on the same port again. */
  public synchronized void restart() throws Exception {
    stop();
    startAt(port);
  }

  @Override
  public void close() throws Exception {
    stop();
  }
}
