package dev.snapstash.strategy.quiesce.bitbucket;

import dev.snapstash.core.bitbucket.BitbucketClient;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;

/**
 * Releases the lock and the backup task a dead run left, from its journal's tokens ({@code snapstash recover}).
 * Returns normally when the lock or task is gone, whoever released it, so that a lock that is gone never strands
 * the journal; throws, so that the journal keeps the token, whenever the instance may still be locked with it.
 *
 * <p>The answers for "no such lock or task" are not documented: a real instance most likely answers 404 (its own
 * maintenance page polls the lock "until it returns a 404"), and 409 for a token that is not the lock's (UI); 403
 * is plausible too. 401 never counts: it is what Bitbucket's REST API answers for refused credentials and for a
 * missing permission alike (OAS). For the unlock, the token-bearing status call decides: an answer for the token
 * means the lock is still held with it, so the refusal was something else (a permission); a refusal means the
 * token holds nothing. Only when both are refused with 403, which may mean "not yours" or "not permitted", is the
 * SYSADMIN permission checked on the cluster resource, which needs the instance out of maintenance.
 */
public final class Leftovers {
  private Leftovers() {}

  /** Unlocks with a journal's unlock token, or confirms the lock is no longer held with it. */
  public static void unlock(BitbucketClient client, String unlockToken) {
    try {
      client.unlock(unlockToken);
    } catch (BitbucketClient.Refused e) {
      if (!possiblyGone(e)) {
        throw e;
      }
      BitbucketClient.Refused gone;
      try {
        client.drainStatus(unlockToken);
        throw new SnapstashException(
            ErrorKind.LOCK,
            "Bitbucket at " + client.baseUrl() + " refused the unlock (HTTP " + e.status() + ") yet still answers"
                + " the maintenance status for the journal's unlock token, so it is still locked with it; the"
                + " journal keeps the token: " + e.getMessage());
      } catch (BitbucketClient.Refused refused) {
        gone = refused;
      }
      if (e.status() == 403 && gone.status() == 403) {
        requireSysadmin(client, "the unlock and the token-bearing status were both refused with HTTP 403");
      }
    }
  }

  /** Cancels the backup task with a journal's cancel token, or confirms there is no such task any more. */
  public static void cancel(BitbucketClient client, String cancelToken) {
    try {
      client.cancel(cancelToken);
    } catch (BitbucketClient.Refused e) {
      if (!possiblyGone(e)) {
        throw e;
      }
      if (e.status() == 403) {
        requireSysadmin(client, "the cancel was refused with HTTP 403");
      }
    }
  }

  private static boolean possiblyGone(BitbucketClient.Refused e) {
    return e.status() == 404 || e.status() == 409 || e.status() == 403;
  }

  /**
   * A 403 may mean "no such lock" or "not permitted": the cluster resource (OAS: SYS_ADMIN) tells, but only once
   * the instance is out of maintenance; until then the journal keeps the token.
   */
  private static void requireSysadmin(BitbucketClient client, String why) {
    try {
      client.cluster();
    } catch (SnapstashException e) {
      if (e.kind() == ErrorKind.AUTHENTICATION || e.kind() == ErrorKind.INTERRUPTED) {
        throw e;
      }
      throw new SnapstashException(
          ErrorKind.LOCK,
          why + ", which means either that it no longer exists or that instance.username lacks the SYSADMIN"
              + " permission, and the permission cannot be checked now (" + e.getMessage() + "); the journal keeps"
              + " the token: run recover again once the instance answers",
          e);
    }
  }
}
