package dev.snapstash.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.bitbucket.BitbucketClient;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.strategy.quiesce.bitbucket.BitbucketQuiescer;
import dev.snapstash.strategy.quiesce.bitbucket.Leftovers;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;
import dev.snapstash.core.http.HttpTransport;

/**
 * The protocol client and the quiescer against the sandbox over real HTTP, including every refusal, served plainly
 * and over TLS under a context path.
 */
@ParameterizedClass(name = "tls and /bitbucket: {0}")
@ValueSource(booleans = {false, true})
class BitbucketQuiescerIT {
  @TempDir Path tmp;
  Scenario s;
  @Parameter boolean tls;

  @BeforeEach
  void start() {
    s = Scenario.start(tmp.resolve("sb"), DbKind.H2, null, o -> tls ? o.withTls(true).withContextPath("/bitbucket") : o);
  }

  @AfterEach
  void stop() {
    s.close();
  }

  private BitbucketClient client(String user, String password) {
    HttpTransport t = s.sandbox.caFile() == null ? HttpTransport.direct()
        : HttpTransport.trusting(s.sandbox.caFile(), name -> null);
    return new BitbucketClient(BitbucketClient.Settings.of(URI.create(s.sandbox.baseUrl()),
        new BitbucketClient.Credentials.Basic(user, () -> password), Duration.ofSeconds(10)).withTransport(t));
  }

  private BitbucketQuiescer quiescer(BitbucketClient c, Duration drain) {
    return new BitbucketQuiescer(c, drain, Duration.ofMillis(20));
  }

  @Test
  void locksDrainsReportsProgressAndUnlocks() {
    BitbucketClient c = client("admin", s.sandbox.adminPassword());
    assertThat(c.version()).startsWith("8.");
    try (QuiesceLock lock = quiescer(c, Duration.ofSeconds(30)).quiesce(Progress.NONE, dev.snapstash.core.spi.UndoLog.NONE)) {
      assertThat(s.sandbox.maintenance().isLocked()).isTrue();
      lock.progress(42);
      lock.succeeded();
    }
    assertThat(s.sandbox.maintenance().isLocked()).isFalse();
    var task = s.sandbox.maintenance().task().orElseThrow();
    assertThat(task.reported()).containsExactly(42, 100);
    assertThat(task.state()).isEqualTo("SUCCESSFUL");
  }

  @Test
  void closingWithoutSuccessCancelsTheTaskAndStillUnlocks() {
    BitbucketClient c = client("admin", s.sandbox.adminPassword());
    quiescer(c, Duration.ofSeconds(30)).quiesce(Progress.NONE, dev.snapstash.core.spi.UndoLog.NONE).close();
    assertThat(s.sandbox.maintenance().isLocked()).isFalse();
    assertThat(s.sandbox.maintenance().task().orElseThrow().state()).isEqualTo("CANCELED");
  }

  /** A second lock is refused with 409 or 503 (both unverified); either way it is a LOCK problem. */
  @Test
  void aSecondLockIsRefused() {
    BitbucketClient c = client("admin", s.sandbox.adminPassword());
    String token = c.lock();
    try {
      for (int status : new int[] {409, 503}) {
        s.sandbox.knobs().secondLockStatus(status);
        assertThatThrownBy(c::lock)
            .isInstanceOf(SnapstashException.class)
            .hasMessageContaining("HTTP " + status)
            .extracting(e -> ((SnapstashException) e).kind())
            .isEqualTo(ErrorKind.LOCK);
      }
    } finally {
      c.unlock(token);
    }
  }

  @Test
  void wrongCredentialsAndMissingPermissionAreAuthenticationErrors() {
    assertThatThrownBy(() -> client("admin", "wrong").lock())
        .hasMessageContaining("HTTP 401")
        .hasMessageContaining("instance.password")
        .hasMessageNotContaining("wrong")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.AUTHENTICATION);
    for (int denied : new int[] {401, 403}) {
      s.sandbox.knobs().permissionDeniedStatus(denied);
      assertThatThrownBy(() -> client("user", s.sandbox.userPassword()).lock())
          .hasMessageContaining("lacks the SYSADMIN permission").hasMessageContaining("HTTP " + denied)
          .extracting(e -> ((SnapstashException) e).kind())
          .isEqualTo(ErrorKind.AUTHENTICATION);
      Findings f = new Findings();
      quiescer(client("user", s.sandbox.userPassword()), Duration.ofSeconds(1)).check(f);
      assertThat(f.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("lacks the SYSADMIN"));
    }
    assertThat(s.sandbox.maintenance().isLocked()).isFalse();
  }

  @Test
  void aTaskTheInstanceEndsStopsTheDrainAndUnlocks() {
    s.sandbox.knobs().taskOutcome("FAILED");
    BitbucketClient c = client("admin", s.sandbox.adminPassword());
    assertThatThrownBy(() -> quiescer(c, Duration.ofSeconds(30)).quiesce(Progress.NONE, dev.snapstash.core.spi.UndoLog.NONE))
        .hasMessageContaining("ended the backup task while draining (state FAILED)")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.LOCK);
    assertThat(s.sandbox.maintenance().isLocked()).isFalse();
  }

  /**
   * The preflight refuses, before any lock, an instance it cannot reach (UNREACHABLE, exit 4) and an account
   * without SYSADMIN (AUTHENTICATION, exit 5, naming SYSADMIN); a backup against an address nothing answers on
   * ends with exit 4 and locks nothing.
   */
  @Test
  void anUnreachableInstanceAndAnAccountWithoutSysadminAreRefusedBeforeAnyLock() throws Exception {
    int closed;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = probe.getLocalPort();
    }
    Findings gone = new Findings();
    quiescer(new BitbucketClient(URI.create("http://127.0.0.1:" + closed), "admin", "x", Duration.ofSeconds(5)), Duration.ofSeconds(1))
        .check(gone);
    assertThat(gone.problems()).singleElement().satisfies(f -> assertThat(f.kind()).isEqualTo(ErrorKind.UNREACHABLE));

    Findings user = new Findings();
    quiescer(client("user", s.sandbox.userPassword()), Duration.ofSeconds(1)).check(user);
    assertThat(user.problems()).singleElement().satisfies(f -> {
      assertThat(f.kind()).isEqualTo(ErrorKind.AUTHENTICATION);
      assertThat(f.message()).contains("SYSADMIN");
    });

    java.nio.file.Path config = tmp.resolve("unreachable.yml");
    java.nio.file.Files.writeString(config, java.nio.file.Files.readString(s.config())
        .replace("base-url: " + s.sandbox.baseUrl(), "base-url: http://127.0.0.1:" + closed));
    Scenario.Run r = Scenario.snapstash("-c", config.toString(), "backup");
    assertThat(r.exit()).as(r.err()).isEqualTo(4);
    assertThat(r.err()).contains("nothing was locked");
    assertThat(s.sandbox.maintenance().isLocked()).isFalse();
    assertThat(s.sandbox.maintenance().task()).as("never locked").isEmpty();
    // The early walk's barrier directory goes when that walk ends, which is not waited for (BackupEngineTest's
    // subject): only backups count here.
    assertThat(s.backupDirs()).filteredOn(d -> !d.getFileName().toString().startsWith(".")).isEmpty();
  }

  @Test
  void checkSeesCredentialsAndSomeoneElsesLockWithoutLocking() {
    BitbucketClient c = client("admin", s.sandbox.adminPassword());
    Findings ok = new Findings();
    quiescer(c, Duration.ofSeconds(1)).check(ok);
    assertThat(ok.hasProblems()).as(ok.all().toString()).isFalse();
    assertThat(s.sandbox.maintenance().isLocked()).isFalse();

    Findings bad = new Findings();
    quiescer(client("admin", "nope"), Duration.ofSeconds(1)).check(bad);
    assertThat(bad.problems()).singleElement().satisfies(f -> assertThat(f.kind()).isEqualTo(ErrorKind.AUTHENTICATION));

    String token = c.lock();
    try {
      for (int statusCode : new int[] {503, 200}) {
        s.sandbox.knobs().statusCodeInMaintenance(statusCode);
        Findings locked = new Findings();
        quiescer(c, Duration.ofSeconds(1)).check(locked);
        assertThat(locked.problems()).isNotEmpty().allSatisfy(f -> assertThat(f.kind()).isEqualTo(ErrorKind.LOCK));
        assertThat(locked.problems().get(0).message()).contains("already in maintenance mode");
      }
    } finally {
      c.unlock(token);
    }
  }

  /**
   * recover's release of a dead run's lock and task against every plausible "no such lock" and "wrong token"
   * answer: a lock that is gone, or someone else's, counts as released (the other lock untouched); a lock still
   * held with the token is released.
   */
  @Test
  void aDeadRunsLockIsReleasedWhateverTheInstanceAnswersForOneThatIsGone() {
    BitbucketClient c = client("admin", s.sandbox.adminPassword());
    for (int[] knob : new int[][] {{404, 409}, {409, 403}, {403, 403}}) {
      s.sandbox.knobs().noSuchLockStatus(knob[0]).wrongTokenStatus(knob[1]);
      String stale = c.lock();
      String staleCancel = c.startBackup(stale);
      c.unlock(stale);
      Leftovers.cancel(c, staleCancel);
      Leftovers.unlock(c, stale);

      var other = s.sandbox.maintenance().lock(new dev.snapstash.sandbox.maintenance.Maintenance.Owner("ops", "Ops"));
      try {
        if (knob[1] == 403) {
          // "Not yours" and "not permitted" look alike, and the permission check waits for the other lock's end.
          assertThatThrownBy(() -> Leftovers.unlock(c, stale)).hasMessageContaining("journal keeps the token");
        } else {
          Leftovers.unlock(c, stale);
        }
        assertThat(s.sandbox.maintenance().isLocked()).as("someone else's lock is left alone").isTrue();
      } finally {
        s.sandbox.maintenance().unlock(other.unlockToken());
      }
      Leftovers.unlock(c, stale);

      String held = c.lock();
      Leftovers.cancel(c, c.startBackup(held));
      Leftovers.unlock(c, held);
      assertThat(s.sandbox.maintenance().isLocked()).isFalse();
      assertThat(s.sandbox.maintenance().task().orElseThrow().state()).isEqualTo("CANCELED");
    }
  }
}
