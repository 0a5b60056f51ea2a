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
 * is plausible too. So 404, 409 and 403 count as "not held with this token", with two guards: a 403 may also mean
 * that the configured user lacks SYSADMIN, which the cluster resource (OAS: SYS_ADMIN) tells; and for the unlock,
 * the token-bearing status call must then refuse the token too: if it still answers for it, the lock is held and
 * the refusal was something else.
 */
public final class Leftovers {
  private Leftovers() {}

  /** Unlocks with a journal's unlock token, or confirms the lock is no longer held with it. */
  public static void unlock(BitbucketClient client, String unlockToken) {
    try {
      client.unlock(unlockToken);
    } catch (BitbucketClient.Refused e) {
      if (!noLongerHeld(client, e)) {
        throw e;
      }
      confirmReleased(client, unlockToken, e);
    }
  }

  /** Cancels the backup task with a journal's cancel token, or confirms there is no such task any more. */
  public static void cancel(BitbucketClient client, String cancelToken) {
    try {
      client.cancel(cancelToken);
    } catch (BitbucketClient.Refused e) {
      if (!noLongerHeld(client, e)) {
        throw e;
      }
    }
  }

  private static boolean noLongerHeld(BitbucketClient client, BitbucketClient.Refused e) {
    int s = e.status();
    if (s != 404 && s != 409 && s != 403) {
      return false;
    }
    if (s == 403) {
      // Throws AUTHENTICATION when the user lacks SYSADMIN: then the token may well still hold the lock.
      client.cluster();
    }
    return true;
  }

  /**
   * The token-bearing status call answers for the lock's holder only: a refusal says the token holds nothing. An
   * answer says the lock is still ours, and the unlock's refusal must not discard the token.
   */
  private static void confirmReleased(BitbucketClient client, String unlockToken, BitbucketClient.Refused refusal) {
    try {
      client.drainStatus(unlockToken);
    } catch (BitbucketClient.Refused gone) {
      return;
    }
    throw new SnapstashException(
        ErrorKind.LOCK,
        "Bitbucket at " + client.baseUrl() + " refused the unlock (HTTP " + refusal.status() + ") yet still answers"
            + " the maintenance status for the journal's unlock token, so it is most likely still locked; the"
            + " journal keeps the token: " + refusal.getMessage());
  }
}
