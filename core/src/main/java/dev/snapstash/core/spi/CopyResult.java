package dev.snapstash.core.spi;

import java.util.List;
import java.util.Map;

/**
 * What one strategy's copy produced, for the manifest.
 *
 * @param strategy the strategy's name ("rsync", "postgresql")
 * @param bytes total size of what the backup now holds for this strategy
 * @param files number of files, where that means something (0 otherwise)
 * @param bytesTransferred bytes actually moved by this step (an rsync delta is much less than {@code bytes})
 * @param artifacts files to checksum and verify (database dumps); homes are not listed file by file
 * @param details strategy-specific facts worth keeping (tool version, dump format, snapshot id)
 */
public record CopyResult(
    String strategy,
    long bytes,
    long files,
    long bytesTransferred,
    List<Artifact> artifacts,
    Map<String, String> details) {
  public CopyResult {
    artifacts = List.copyOf(artifacts);
    details = Map.copyOf(details);
  }

  public static CopyResult empty(String strategy) {
    return new CopyResult(strategy, 0, 0, 0, List.of(), Map.of());
  }
}
