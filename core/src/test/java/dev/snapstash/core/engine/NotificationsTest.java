package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.RunReport;
import dev.snapstash.core.spi.Services;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quiet send that backup and recover share: a notifier that fails is logged, and the others still hear. */
class NotificationsTest {
  @TempDir Path tmp;
  final List<RunReport> heard = new CopyOnWriteArrayList<>();

  final Notifier failing = new Notifier() {
    @Override
    public String name() {
      return "failing";
    }

    @Override
    public void check(Findings findings) {}

    @Override
    public void send(RunReport report) {
      throw new SnapstashException(ErrorKind.UNREACHABLE, "the hook is down");
    }
  };

  final Notifier listening = new Notifier() {
    @Override
    public String name() {
      return "listening";
    }

    @Override
    public void check(Findings findings) {}

    @Override
    public void send(RunReport report) {
      heard.add(report);
    }
  };

  @Test
  void aFailingNotifierDoesNotThrowNorSilenceTheNextOne() {
    RunReport report = new RunReport("backup", "bb", "bb-1", true, Instant.EPOCH, Duration.ZERO, null, 0, null);
    new Notifications(List.of(failing, listening)).send(report);
    assertThat(heard).containsExactly(report);
  }

  @Test
  void recoverSendsQuietlyToo() throws Exception {
    Path root = tmp.resolve("backups");
    String tag = "bb-20260101-000000";
    Path partial = Files.createDirectories(root.resolve(tag));
    Journal journal = Journal.begin(root, "backup", tag);
    journal.add(new RemovePartialBackup(tag, partial));
    journal.close();

    Services services = Services.of(null, null, new ProcessRunner());
    RecoverEngine.Report r =
        new RecoverEngine(new BackupStore(root), services, List.of(failing, listening), Clock.systemUTC()).recover();
    assertThat(r.clean()).isTrue();
    assertThat(heard).singleElement().satisfies(h -> {
      assertThat(h.operation()).isEqualTo("recover");
      assertThat(h.tag()).isEqualTo(tag);
      assertThat(h.success()).isTrue();
    });
  }
}
