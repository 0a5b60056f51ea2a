package dev.snapstash.core.spi;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.net.URI;
import java.nio.file.Path;

/**
 * A side effect that must be undone if the run dies, and everything needed to undo it with no other state: what a
 * crash journal holds. Tokens are secrets: the journal is private to its owner and never logged.
 *
 * <p>{@link #order()} is the order of undoing: thaw first (every writer on the mount is blocked), then cancel and
 * unlock (production is down), then remove what the run made.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "undo")
@JsonSubTypes({
  @JsonSubTypes.Type(value = Undo.Thaw.class, name = "thaw"),
  @JsonSubTypes.Type(value = Undo.CancelTask.class, name = "cancel"),
  @JsonSubTypes.Type(value = Undo.Unlock.class, name = "unlock"),
  @JsonSubTypes.Type(value = Undo.RunCommand.class, name = "run-command"),
  @JsonSubTypes.Type(value = Undo.DeleteSnapshot.class, name = "delete-snapshot"),
  @JsonSubTypes.Type(value = Undo.RemovePartialBackup.class, name = "remove-partial-backup")
})
public sealed interface Undo {
  int order();

  /** A filesystem frozen with fsfreeze. */
  record Thaw(Path mountPoint) implements Undo {
    @Override
    public int order() {
      return 0;
    }
  }

  /** A Bitbucket external backup task. */
  record CancelTask(URI baseUrl, String cancelToken) implements Undo {
    @Override
    public int order() {
      return 1;
    }

    @Override
    public String toString() {
      return "CancelTask[" + baseUrl + "]";
    }
  }

  /** A Bitbucket maintenance lock. */
  record Unlock(URI baseUrl, String unlockToken) implements Undo {
    @Override
    public int order() {
      return 2;
    }

    @Override
    public String toString() {
      return "Unlock[" + baseUrl + "]";
    }
  }

  /** The release command of the {@code command} quiescer (start the application, thaw it). */
  record RunCommand(java.util.List<String> argv) implements Undo {
    @Override
    public int order() {
      return 2;
    }
  }

  /** A snapshot (btrfs subvolume, …) made for a backup that did not complete. */
  record DeleteSnapshot(String kind, String id) implements Undo {
    @Override
    public int order() {
      return 3;
    }
  }

  /** The backup directory of a run that did not complete. */
  record RemovePartialBackup(String tag, Path dir) implements Undo {
    @Override
    public int order() {
      return 4;
    }
  }
}
