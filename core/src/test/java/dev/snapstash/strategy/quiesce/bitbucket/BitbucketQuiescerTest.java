package dev.snapstash.strategy.quiesce.bitbucket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.bitbucket.BitbucketClient;
import dev.snapstash.core.bitbucket.ScriptedBitbucket;
import dev.snapstash.core.bitbucket.ScriptedBitbucket.Answer;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.http.HttpTransport;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.QuiesceLock;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.core.spi.UndoLog;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The quiescer against scripted answers over real HTTP, with time simulated by the sleeps it asks for. */
class BitbucketQuiescerTest {
  private static final String LOCK = "POST /bitbucket/mvc/maintenance/lock";
  private static final String START = "POST /bitbucket/mvc/admin/backups";
  private static final String STATUS = "GET /bitbucket/mvc/maintenance";
  private static final String UNLOCK = "DELETE /bitbucket/mvc/maintenance/lock";
  private static final String CANCEL = "POST /bitbucket/mvc/maintenance";

  ScriptedBitbucket bb;
  final AtomicLong now = new AtomicLong();
  final List<Duration> slept = new ArrayList<>();
  final List<Undo> journal = new ArrayList<>();
  final UndoLog undo = new UndoLog() {
    @Override
    public void add(Undo u) {
      journal.add(u);
    }

    @Override
    public void done(Undo u) {}
  };

  @BeforeEach
  void start() throws Exception {
    bb = new ScriptedBitbucket();
    bb.on(LOCK, Answer.json(202, "{\"unlockToken\":\"u1\"}"));
    bb.on(START, Answer.json(200, "{\"cancelToken\":\"c1\",\"state\":\"RUNNING\"}"));
    bb.on(UNLOCK, Answer.json(200, ""));
    bb.on(CANCEL, Answer.json(202, ""));
    bb.on("POST /bitbucket/mvc/admin/backups/progress/client", Answer.json(202, ""));
  }

  @AfterEach
  void stop() {
    bb.close();
  }

  private BitbucketQuiescer quiescer(Duration drainTimeout) {
    BitbucketClient client = new BitbucketClient(new BitbucketClient.Settings(
        bb.baseUrl(), new BitbucketClient.Credentials.Basic("backup", () -> "pw"), HttpTransport.direct(),
        Duration.ofSeconds(5), Duration.ofMinutes(2), d -> {
          slept.add(d);
          now.addAndGet(d.toNanos());
        }, Clock.systemUTC()));
    return new BitbucketQuiescer(client, drainTimeout, Duration.ofMillis(25), d -> {
      slept.add(d);
      now.addAndGet(d.toNanos());
    }, now::get);
  }

  private static Answer draining() {
    return Answer.json(200, "{\"task\":{\"state\":\"RUNNING\"},\"db-state\":\"DRAINING\",\"scm-state\":\"DRAINING\"}");
  }

  /**
   * Data Center's default rate limit refills 5 tokens a second into a bucket of 60 (per user and node): the drain
   * poll must stay well under it. After the first two seconds it polls at most twice a second, and never uses more
   * than the bucket in any stretch.
   */
  @Test
  void theDrainPollStaysWellUnderTheDefaultRateLimit() {
    bb.on(STATUS, draining());
    assertThatThrownBy(() -> quiescer(Duration.ofSeconds(20)).quiesce(Progress.NONE, undo))
        .hasMessageContaining("did not drain within 20s");
    List<Long> pollTimes = new ArrayList<>();
    long t = 0;
    pollTimes.add(0L);
    for (Duration d : slept) {
      t += d.toMillis();
      pollTimes.add(t);
    }
    assertThat(slept).allSatisfy(d -> assertThat(d).isLessThanOrEqualTo(Duration.ofMillis(500)));
    assertThat(pollTimes.stream().filter(x -> x < 2000).count()).as("polls in the first two seconds").isLessThanOrEqualTo(15);
    for (long from = 2000; from < 19_000; from += 250) {
      long f = from;
      assertThat(pollTimes.stream().filter(x -> x >= f && x < f + 1000).count())
          .as("polls in the second from %d ms", from).isLessThanOrEqualTo(2);
    }
    // The whole 20 s drain spends about 54 tokens of the 60 + 5/s the bucket allows.
    assertThat(bb.count(STATUS)).isLessThan(60);
    assertThat(bb.count(UNLOCK)).isEqualTo(1);
  }

  /** A 429 means the lock was not taken: it is sent again, and journaled once, after the answer. */
  @Test
  void aLockRefusedBy429IsSentAgainAndJournaledOnce() {
    bb.on(LOCK, Answer.error(429, "com.atlassian.bitbucket.throttle.RateLimitExceededException", "slow down")
        .with("Retry-After", "2"), Answer.json(202, "{\"unlockToken\":\"u1\"}"));
    bb.on(START, Answer.error(429, "com.atlassian.bitbucket.throttle.RateLimitExceededException", "slow down")
        .with("Retry-After", "1"), Answer.json(200, "{\"cancelToken\":\"c1\"}"));
    bb.on(STATUS, Answer.json(200, "{\"task\":{\"state\":\"RUNNING\"},\"db-state\":\"DRAINED\",\"scm-state\":\"DRAINED\"}"));
    try (QuiesceLock lock = quiescer(Duration.ofSeconds(20)).quiesce(Progress.NONE, undo)) {
      lock.succeeded();
    }
    assertThat(bb.count(LOCK)).isEqualTo(2);
    assertThat(bb.count(START)).isEqualTo(2);
    assertThat(journal).containsExactly(
        new BitbucketUndo.Unlock(bb.baseUrl(), "u1"), new BitbucketUndo.CancelTask(bb.baseUrl(), "c1"));
    assertThat(slept).startsWith(Duration.ofSeconds(2), Duration.ofSeconds(1));
  }

  /**
   * A lock whose answer never came may have locked the instance with a token nobody read. It is not sent again;
   * when /status then says MAINTENANCE the operator is told to release it by hand.
   */
  @Test
  void aLockAnswerLostWhileTheInstanceEntersMaintenanceIsNamedAndNotRetried() {
    bb.on(LOCK, Answer.hangUp());
    bb.on("GET /bitbucket/status", Answer.json(503, "{\"state\":\"MAINTENANCE\"}"));
    assertThatThrownBy(() -> quiescer(Duration.ofSeconds(20)).quiesce(Progress.NONE, undo))
        .hasMessageContaining("most likely locked by this request").hasMessageContaining("administrator must release")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.LOCK);
    assertThat(bb.count(LOCK)).isEqualTo(1);
    assertThat(journal).isEmpty();
  }

  @Test
  void checkUsesTheClusterResourceAndNeverTheTokenlessMaintenanceStatus() {
    Findings f = new Findings();
    quiescer(Duration.ofSeconds(1)).check(f);
    assertThat(f.hasProblems()).as(f.all().toString()).isFalse();
    assertThat(f.all()).extracting(Findings.Finding::message)
        .anySatisfy(m -> assertThat(m).contains("SYSADMIN").contains("2 nodes: node-a (node-a.example.com:5701"));
    assertThat(bb.seen()).noneSatisfy(s -> assertThat(s.route()).startsWith("GET /bitbucket/mvc/"));
    assertThat(bb.count("GET /bitbucket/rest/api/1.0/admin/cluster")).isEqualTo(1);
  }

  @Test
  void checkStopsAtARefusedLogin() {
    bb.on("GET /bitbucket/rest/api/1.0/admin/cluster",
        Answer.error(401, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException", "Authentication failed"));
    Findings f = new Findings();
    quiescer(Duration.ofSeconds(1)).check(f);
    assertThat(f.problems()).singleElement().satisfies(p -> assertThat(p.kind()).isEqualTo(ErrorKind.AUTHENTICATION));
    assertThat(bb.seen()).filteredOn(s -> s.authorization() != null).hasSize(1);
  }

  @Test
  void theManifestGetsTheClusterNodes() {
    assertThat(quiescer(Duration.ofSeconds(1)).applicationNodes())
        .extracting(dev.snapstash.core.spi.ApplicationNode::name).containsExactly("node-a", "node-b");
    bb.on("GET /bitbucket/rest/api/1.0/admin/cluster", Answer.error(500, "x", "boom"));
    assertThat(quiescer(Duration.ofSeconds(1)).applicationNodes()).isEmpty();
  }
}
