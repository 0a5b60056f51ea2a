package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class VerifyEngineTest {
  private final Path home = Path.of("/backups/t/home");
  private final List<Path> repos =
      List.of("1", "2", "3", "4").stream().map(id -> home.resolve("shared/data/repositories/" + id)).toList();

  private static Manifest.Verification last(String mode, boolean exhausted, String... checked) {
    return new Manifest.Verification(
        Instant.EPOCH, true, mode.equals(Manifest.Fsck.FULL), List.of(checked),
        new Manifest.Fsck(mode, checked.length, 4, Duration.ofMinutes(1), exhausted));
  }

  @Test
  void aFullFsckCutShortIsContinuedWhereItStopped() {
    List<Path> order =
        VerifyEngine.leastRecentlyCheckedFirst(
            repos, last(Manifest.Fsck.FULL, true, "shared/data/repositories/1", "shared/data/repositories/3"), home);
    assertThat(order).extracting(p -> p.getFileName().toString()).containsExactly("2", "4", "1", "3");
  }

  @Test
  void withoutAnEarlierFullFsckTheOrderIsKept() {
    assertThat(VerifyEngine.leastRecentlyCheckedFirst(repos, null, home)).isEqualTo(repos);
    assertThat(
            VerifyEngine.leastRecentlyCheckedFirst(
                repos, last(Manifest.Fsck.CONNECTIVITY, false, "shared/data/repositories/1"), home))
        .isEqualTo(repos);
    // Manifests verified before the coverage was recorded have no fsck record.
    assertThat(
            VerifyEngine.leastRecentlyCheckedFirst(
                repos, new Manifest.Verification(Instant.EPOCH, true, true, List.of(), null), home))
        .isEqualTo(repos);
  }
}
