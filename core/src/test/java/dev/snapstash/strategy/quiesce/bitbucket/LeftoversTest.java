package dev.snapstash.strategy.quiesce.bitbucket;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.bitbucket.BitbucketClient;
import dev.snapstash.core.bitbucket.ScriptedBitbucket;
import dev.snapstash.core.bitbucket.ScriptedBitbucket.Answer;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * recover's release of a dead run's lock and task, against every plausible answer for "no such lock": each is
 * released, never while the lock may still be held with the journal's token.
 */
class LeftoversTest {
  private static final String UNLOCK = "DELETE /bitbucket/mvc/maintenance/lock";
  private static final String STATUS = "GET /bitbucket/mvc/maintenance";
  private static final String CANCEL = "POST /bitbucket/mvc/maintenance";
  private static final String CLUSTER = "GET /bitbucket/rest/api/1.0/admin/cluster";

  ScriptedBitbucket bb;

  @BeforeEach
  void start() throws Exception {
    bb = new ScriptedBitbucket();
  }

  @AfterEach
  void stop() {
    bb.close();
  }

  private BitbucketClient client() {
    return new BitbucketClient(BitbucketClient.Settings.of(
        bb.baseUrl(), new BitbucketClient.Credentials.Basic("backup", () -> "pw"), Duration.ofSeconds(5))
        .withTransport(dev.snapstash.core.http.HttpTransport.direct()));
  }

  @ParameterizedTest(name = "unlock answered {0}")
  @ValueSource(ints = {404, 409, 403})
  void aLockThatIsGoneCountsAsReleasedOnceTheTokenHoldsNothing(int status) {
    bb.on(UNLOCK, Answer.error(status, "com.atlassian.bitbucket.maintenance.X", "no"));
    bb.on(STATUS, Answer.error(status, "com.atlassian.bitbucket.maintenance.X", "no"));
    assertThatCode(() -> Leftovers.unlock(client(), "u1")).doesNotThrowAnyException();
    org.assertj.core.api.Assertions.assertThat(bb.count(STATUS)).as("confirmed through the token-bearing status").isEqualTo(1);
  }

  @Test
  void aRefusedUnlockWhoseTokenStillAnswersKeepsTheJournal() {
    bb.on(UNLOCK, Answer.error(409, "com.atlassian.bitbucket.maintenance.X", "no"));
    bb.on(STATUS, Answer.json(200, "{\"task\":{\"state\":\"RUNNING\"},\"db-state\":\"DRAINED\",\"scm-state\":\"DRAINED\"}"));
    assertThatThrownBy(() -> Leftovers.unlock(client(), "u1"))
        .hasMessageContaining("still locked").hasMessageContaining("journal keeps the token")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.LOCK);
  }

  @ParameterizedTest(name = "permission refused with {0}")
  @ValueSource(ints = {401, 403})
  void a403FromAUserWithoutSysadminIsNotAReleasedLock(int permissionStatus) {
    bb.on(UNLOCK, Answer.error(403, "com.atlassian.bitbucket.AuthorisationException", "You are not permitted"));
    bb.on(STATUS, Answer.error(403, "com.atlassian.bitbucket.AuthorisationException", "You are not permitted"));
    bb.on(CLUSTER, Answer.error(permissionStatus, "com.atlassian.bitbucket.AuthorisationException", "You are not permitted"));
    assertThatThrownBy(() -> Leftovers.unlock(client(), "u1"))
        .hasMessageContaining("SYSADMIN")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.AUTHENTICATION);
  }

  @Test
  void aRefusedUnlockWhileTheStatusStillAnswersForTheTokenIsNotReleased() {
    bb.on(UNLOCK, Answer.error(403, "com.atlassian.bitbucket.AuthorisationException", "You are not permitted"));
    bb.on(STATUS, Answer.json(200, "{\"task\":{\"state\":\"RUNNING\"},\"db-state\":\"DRAINED\",\"scm-state\":\"DRAINED\"}"));
    assertThatThrownBy(() -> Leftovers.unlock(client(), "u1")).hasMessageContaining("still locked with it");
  }

  /** While the instance is in maintenance its REST API answers 503, so "not yours" and "not permitted" stay apart. */
  @Test
  void anAmbiguous403WhileTheInstanceIsInMaintenanceKeepsTheJournal() {
    bb.on(UNLOCK, Answer.error(403, "com.atlassian.bitbucket.X", "no"));
    bb.on(STATUS, Answer.error(403, "com.atlassian.bitbucket.X", "no"));
    bb.on(CLUSTER, Answer.error(503, "com.atlassian.bitbucket.maintenance.MaintenanceModeException", "in maintenance"));
    bb.on("GET /bitbucket/status", Answer.json(503, "{\"state\":\"MAINTENANCE\"}"));
    assertThatThrownBy(() -> Leftovers.unlock(client(), "u1"))
        .hasMessageContaining("SYSADMIN").hasMessageContaining("journal keeps the token")
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.LOCK);
    bb.on(CANCEL, Answer.error(403, "com.atlassian.bitbucket.X", "no"));
    assertThatThrownBy(() -> Leftovers.cancel(client(), "c1")).hasMessageContaining("journal keeps the token");
  }

  @Test
  void aWrongPasswordIsNeverAReleasedLock() {
    bb.on(UNLOCK, Answer.error(401, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException", "Authentication failed"));
    assertThatThrownBy(() -> Leftovers.unlock(client(), "u1")).hasMessageContaining("HTTP 401");
    bb.on(CANCEL, Answer.error(401, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException", "Authentication failed"));
    assertThatThrownBy(() -> Leftovers.cancel(client(), "c1")).hasMessageContaining("HTTP 401");
  }

  @ParameterizedTest(name = "cancel answered {0}")
  @ValueSource(ints = {404, 409, 403})
  void aTaskThatIsGoneCountsAsCancelled(int status) {
    bb.on(CANCEL, Answer.error(status, "com.atlassian.bitbucket.backup.NoSuchBackupException", "No backup is running."));
    assertThatCode(() -> Leftovers.cancel(client(), "c1")).doesNotThrowAnyException();
  }

  @Test
  void anUnreachableInstanceKeepsTheJournal() {
    bb.on(UNLOCK, Answer.error(503, "com.atlassian.bitbucket.X", "down"));
    bb.on("GET /bitbucket/status", Answer.hangUp());
    assertThatThrownBy(() -> Leftovers.unlock(client(), "u1"))
        .extracting(e -> ((SnapstashException) e).kind()).isEqualTo(ErrorKind.UNREACHABLE);
  }
}
