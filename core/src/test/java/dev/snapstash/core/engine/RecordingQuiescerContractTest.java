package dev.snapstash.core.engine;

import dev.snapstash.core.spi.Quiescer;
import dev.snapstash.core.spi.Services;
import dev.snapstash.strategy.quiesce.QuiescerContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/** The engine tests' fake quiescer keeps the contract the real ones keep. */
class RecordingQuiescerContractTest extends QuiescerContract {
  private RecordingQuiescer quiescer;

  private Path lockFile() {
    return tmp.resolve("instance-locked");
  }

  @Override
  protected Quiescer quiescer() {
    if (quiescer == null) {
      quiescer = new RecordingQuiescer(new CopyOnWriteArrayList<>(), this::lockFile);
    }
    return quiescer;
  }

  @Override
  protected Services services() {
    return servicesOf(config("", "", Map.of()));
  }

  @Override
  protected Set<String> held() {
    return Files.exists(lockFile()) ? Set.of("locked") : Set.of();
  }

  @Override
  protected void failNextLock() {
    quiescer();
    quiescer.failLock = true;
  }

  @Override
  protected void slowNextLock() {
    quiescer();
    quiescer.drain = Duration.ofSeconds(60);
  }
}
