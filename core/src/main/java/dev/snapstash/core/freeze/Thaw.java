package dev.snapstash.core.freeze;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.nio.file.Path;

/** A filesystem frozen with {@code fsfreeze} by {@link Freezer}: journal name {@value #NAME}. */
public record Thaw(Path mountPoint) implements Undo {
  public static final String NAME = "thaw";

  @Override
  public int order() {
    return THAW;
  }

  @Override
  public String describe() {
    return "thaw " + mountPoint;
  }

  @Override
  public void undo(Services services) {
    thaw(services.runner(), mountPoint);
  }

  /**
   * {@code fsfreeze -u}; on a mount that is not frozen it fails with "Invalid argument", which counts as thawed.
   * Throws when the mount may still be frozen.
   */
  static void thaw(ProcessRunner runner, Path mountPoint) {
    var result = runner.runAllowingFailure(Freezer.thaw(mountPoint), l -> {});
    if (result.exitCode() != 0 && !result.stderrTail().contains("Invalid argument")) {
      throw new SnapstashException(
          ErrorKind.EXTERNAL_COMMAND, "fsfreeze -u " + mountPoint + " failed: " + result.stderrTail());
    }
  }
}
