package dev.snapstash.core.engine;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.nio.file.Path;

/**
 * The backup directory of a run that did not complete: journal name {@value #NAME}. The engine's own side effect,
 * replayed by {@link RecoverEngine}, which knows the store (a backup that did complete is kept).
 */
public record RemovePartialBackup(String tag, Path dir) implements Undo {
  public static final String NAME = "remove-partial-backup";

  @Override
  public int order() {
    return REMOVE_BACKUP;
  }

  @Override
  public String describe() {
    return "remove the partial backup " + tag;
  }

  @Override
  public void undo(Services services) {
    throw SnapstashException.internal("the partial backup " + tag + " is removed by the recover engine", null);
  }
}
