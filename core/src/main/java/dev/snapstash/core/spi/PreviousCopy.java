package dev.snapstash.core.spi;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.util.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What a strategy recorded in an earlier backup: the {@link CopyResult} it returned, as the backup's manifest keeps
 * it ({@code strategy} and {@code details} of its {@code home} or {@code database} part). An incremental strategy
 * reads it to know how the previous copy was made (the rsync strategy: with which excludes).
 *
 * @param strategy the name of the strategy that made the copy
 */
public record PreviousCopy(String strategy, Map<String, String> details) {
  /** The file each backup directory holds its manifest in. */
  public static final String MANIFEST = "manifest.json";

  /** The {@code part} ({@code home} or {@code database}) of {@code backupDir}'s manifest; empty if unreadable. */
  public static Optional<PreviousCopy> of(Path backupDir, String part) {
    try {
      JsonNode node = Json.MAPPER.readTree(backupDir.resolve(MANIFEST).toFile()).path(part);
      if (node.isMissingNode() || node.isNull()) {
        return Optional.empty();
      }
      Map<String, String> details = new LinkedHashMap<>();
      node.path("details").fields().forEachRemaining(e -> details.put(e.getKey(), e.getValue().asText()));
      return Optional.of(new PreviousCopy(node.path("strategy").asText(""), Map.copyOf(details)));
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
