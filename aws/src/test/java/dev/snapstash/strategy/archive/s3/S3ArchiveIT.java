package dev.snapstash.strategy.archive.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.aws.testing.S3Server;
import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The {@code s3} strategy at a size where parts matter, and when the store misbehaves: a few hundred MB in many
 * parts come back byte for byte; a store that goes away mid-upload leaves no object, and {@code recover} aborts the
 * upload it left once the store is back (no parts kept); wrong credentials, a missing bucket and an unreachable
 * endpoint each give one sentence naming the key to fix. A real S3 API server (S3Proxy) on loopback.
 */
class S3ArchiveIT {
  static final String BUCKET = "offsite";
  static final String TAG = "bb-20261207-010000";
  @TempDir Path tmp;
  S3Server server;
  final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @BeforeEach
  void startServer() throws Exception {
    server = S3Server.start(Files.createDirectories(tmp.resolve("store")));
    server.bucket(BUCKET);
  }

  @AfterEach
  void stopServer() throws Exception {
    timer.shutdownNow();
    server.close();
  }

  private ArchiveStrategy strategy(String bucket, String secret, int parallel) throws IOException {
    return new S3Provider().create(
        S3ArchiveContractTest.settings(server, tmp.resolve("keys"), bucket, "prod", S3Server.ACCESS_KEY, secret, parallel), null);
  }

  /** A backup directory with {@code mib} MiB of incompressible dump, and its SHA-256. */
  private String backup(Path dir, int mib) throws Exception {
    Files.createDirectories(dir.resolve("home/shared"));
    Files.writeString(dir.resolve("manifest.json"), "{}");
    Files.writeString(dir.resolve("home/shared/bitbucket.properties"), "x=y\n");
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] chunk = new byte[1 << 20];
    Random r = new Random(42);
    try (OutputStream out = new DigestOutputStream(Files.newOutputStream(dir.resolve("database.dump")), md)) {
      for (int i = 0; i < mib; i++) {
        r.nextBytes(chunk);
        out.write(chunk);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  @Test
  void twoHundredMegabytesGoUpInManyPartsAndComeBackByteForByte() throws Exception {
    Path dir = tmp.resolve(TAG);
    String dumpSha = backup(dir, 200);

    ArchiveStrategy.Stored stored = strategy(BUCKET, S3Server.SECRET_KEY, 4).store(new ArchiveStrategy.Source(TAG, dir, Instant.now()), UndoLog.NONE);

    assertThat(stored.bytes()).as("incompressible: about the data's size").isGreaterThan(200L << 20);
    assertThat(stored.location()).isEqualTo("s3://offsite/prod/" + TAG + ".tar.zst at " + server.endpoint());
    try (S3Client s3 = server.client()) {
      var head = s3.headObject(h -> h.bucket(BUCKET).key("prod/" + TAG + ".tar.zst"));
      assertThat(head.contentLength()).isEqualTo(stored.bytes());
      assertThat(head.eTag()).as("a multipart object: %s", head.eTag()).matches("\"?[0-9a-f]+-4[0-9]\"?");
      assertThat(head.metadata()).containsEntry(S3ArchiveStrategy.META_TAG, TAG);
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      try (InputStream in = s3.getObject(g -> g.bucket(BUCKET).key("prod/" + TAG + ".tar.zst"))) {
        in.transferTo(new DigestOutputStream(OutputStream.nullOutputStream(), md));
      }
      String objectSha = HexFormat.of().formatHex(md.digest());
      assertThat(objectSha).isEqualTo(stored.sha256());
      assertThat(s3.getObjectAsBytes(g -> g.bucket(BUCKET).key("prod/" + TAG + ".tar.zst.sha256")).asUtf8String())
          .isEqualTo(objectSha + "  " + TAG + ".tar.zst\n");
      assertThat(s3.listMultipartUploads(l -> l.bucket(BUCKET)).uploads()).isEmpty();
    }
    try (ArchiveStrategy.Reader reader = strategy(BUCKET, S3Server.SECRET_KEY, 4).open(TAG)) {
      String read = null;
      ArchiveStrategy.Member m;
      while ((m = reader.next()) != null) {
        if (m.path().equals("database.dump")) {
          MessageDigest md = MessageDigest.getInstance("SHA-256");
          reader.content().transferTo(new DigestOutputStream(OutputStream.nullOutputStream(), md));
          read = HexFormat.of().formatHex(md.digest());
        }
      }
      assertThat(read).isEqualTo(dumpSha);
    }
  }

  @Test
  void aStoreThatGoesAwayMidUploadLeavesNoObjectAndRecoverAbortsItsUpload() throws Exception {
    Path dir = tmp.resolve(TAG);
    backup(dir, 120);
    Path root = Files.createDirectories(tmp.resolve("backups"));
    Journal journal = Journal.begin(root, "archive offsite", TAG);
    List<Undo> open = new CopyOnWriteArrayList<>();
    UndoLog log = new UndoLog() {
      @Override
      public void add(Undo undo) {
        journal.add(undo);
        open.add(undo);
        // Stop the store once parts are arriving: some are kept, the upload is unfinished.
        timer.execute(() -> {
          try {
            while (server.files(BUCKET).size() < 3) {
              Thread.sleep(5);
            }
            server.stop();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
      }

      @Override
      public void done(Undo undo) {
        journal.done(undo);
        open.remove(undo);
      }
    };

    assertThatThrownBy(() -> strategy(BUCKET, S3Server.SECRET_KEY, 2).store(new ArchiveStrategy.Source(TAG, dir, Instant.now()), log))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isIn(ErrorKind.UNREACHABLE, ErrorKind.STORAGE));
    journal.close();
    assertThat(open).as("the abort could not reach the store: the step stays journaled").hasSize(1);

    server.restart();
    assertThat(server.files(BUCKET)).as("parts the store kept").isNotEmpty();
    assertThat(strategy(BUCKET, S3Server.SECRET_KEY, 2).list()).isEmpty();

    RecoverEngine.Report report = new RecoverEngine(new BackupStore(root), null, List.of(), Clock.systemUTC()).recover();

    assertThat(report.failed()).isEmpty();
    assertThat(report.undone()).hasSize(1);
    assertThat(Journal.file(root)).doesNotExist();
    try (S3Client s3 = server.client()) {
      assertThat(s3.listMultipartUploads(l -> l.bucket(BUCKET)).uploads()).isEmpty();
    }
    assertThat(server.files(BUCKET)).as("no part left behind").isEmpty();
  }

  @Test
  void wrongCredentialsNameTheKeysAndNeverTheSecret() throws Exception {
    Path dir = tmp.resolve(TAG);
    backup(dir, 1);
    ArchiveStrategy s = strategy(BUCKET, "not-the-secret-key", 2);

    for (Runnable call : List.<Runnable>of(s::list, () -> s.store(new ArchiveStrategy.Source(TAG, dir, Instant.now()), UndoLog.NONE))) {
      assertThatThrownBy(call::run).isInstanceOfSatisfying(SnapstashException.class, e -> {
        assertThat(e.kind()).isEqualTo(ErrorKind.AUTHENTICATION);
        assertThat(e.getMessage()).contains("archive[].access-key-id").doesNotContain("not-the-secret-key");
      });
    }
    Findings f = new Findings();
    s.check(f);
    assertThat(f.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("archive[].secret-access-key"));
    assertThat(server.files(BUCKET)).isEmpty();
  }

  @Test
  void aMissingBucketNamesTheKey() throws Exception {
    Path dir = tmp.resolve(TAG);
    backup(dir, 1);
    ArchiveStrategy s = strategy("no-such-bucket", S3Server.SECRET_KEY, 2);

    for (Runnable call : List.<Runnable>of(s::list, () -> s.store(new ArchiveStrategy.Source(TAG, dir, Instant.now()), UndoLog.NONE))) {
      assertThatThrownBy(call::run).isInstanceOfSatisfying(SnapstashException.class, e -> {
        assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
        assertThat(e.getMessage()).contains("no-such-bucket does not exist").contains("archive[].bucket");
      });
    }
  }

  @Test
  void anUnreachableEndpointNamesTheKey() throws Exception {
    ArchiveStrategy s = strategy(BUCKET, S3Server.SECRET_KEY, 2);
    server.stop();

    assertThatThrownBy(s::list).isInstanceOfSatisfying(SnapstashException.class, e -> {
      assertThat(e.kind()).isEqualTo(ErrorKind.UNREACHABLE);
      assertThat(e.getMessage()).contains("archive[].endpoint");
    });
  }
}
