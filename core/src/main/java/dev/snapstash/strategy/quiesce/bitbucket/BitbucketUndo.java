package dev.snapstash.strategy.quiesce.bitbucket;

import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.net.URI;

/** The side effects of the Bitbucket quiescer that a dead run leaves: the maintenance lock and the backup task. */
public final class BitbucketUndo {
  private BitbucketUndo() {}

  /** A maintenance lock: journal name {@code unlock}. The token is a secret, kept out of {@link #toString}. */
  public record Unlock(URI baseUrl, String unlockToken) implements Undo {
    @Override
    public int order() {
      return RELEASE;
    }

    @Override
    public String describe() {
      return "unlock " + baseUrl;
    }

    /** A lock the instance no longer has counts as released; see {@link Leftovers}. */
    @Override
    public void undo(Services services) {
      Leftovers.unlock(Clients.of(services, baseUrl, "to unlock " + baseUrl), unlockToken);
    }

    @Override
    public String toString() {
      return "Unlock[" + baseUrl + "]";
    }
  }

  /** An external backup task: journal name {@code cancel}. The token is a secret, kept out of {@link #toString}. */
  public record CancelTask(URI baseUrl, String cancelToken) implements Undo {
    @Override
    public int order() {
      return CANCEL;
    }

    @Override
    public String describe() {
      return "cancel the backup task on " + baseUrl;
    }

    @Override
    public void undo(Services services) {
      Leftovers.cancel(Clients.of(services, baseUrl, "to cancel the task on " + baseUrl), cancelToken);
    }

    @Override
    public String toString() {
      return "CancelTask[" + baseUrl + "]";
    }
  }
}
