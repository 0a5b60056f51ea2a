package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Providers;
import dev.snapstash.core.spi.RunReport;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import dev.snapstash.strategy.database.none.NoDatabaseProvider;
import dev.snapstash.strategy.disk.rsync.RsyncDiskStrategy;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An email notifier whose server accepts the connection and never answers, in a real backup (real rsync): the
 * instance is unlocked before it is asked, the backup completes, the notifier after it still hears, and the run
 * waits for it no longer than its limit.
 */
class BackupNotifyTest {
  @TempDir Path tmp;
  final List<String> events = new CopyOnWriteArrayList<>();
  final List<RunReport> reports = new CopyOnWriteArrayList<>();

  @Test
  void aSilentMailServerNeitherDelaysTheUnlockNorChangesTheOutcome() throws Exception {
    Path home = tmp.resolve("home");
    Path root = tmp.resolve("backups");
    Files.createDirectories(home.resolve("shared/data/repositories/1/objects"));
    Files.writeString(home.resolve("shared/bitbucket.properties"), "jdbc.url=jdbc:h2:x\n");
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      List<Socket> held = new CopyOnWriteArrayList<>();
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            held.add(silent.accept());
          }
        } catch (Exception e) {
          // closed
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();

      Notifier email = email(silent.getLocalPort());
      Notifier watched = new Notifier() {
        @Override
        public String name() {
          return email.name();
        }

        @Override
        public void check(Findings findings) {
          email.check(findings);
        }

        @Override
        public void send(RunReport report) {
          events.add("email");
          long t = System.nanoTime();
          email.send(report);
          events.add("email given up after " + Duration.ofNanos(System.nanoTime() - t).toSeconds() + "s");
        }
      };
      Notifier recording = new Notifier() {
        @Override
        public String name() {
          return "recording";
        }

        @Override
        public void check(Findings findings) {}

        @Override
        public void send(RunReport report) {
          reports.add(report);
        }
      };
      BackupEngine engine = new BackupEngine(
          new BackupEngine.Settings("bb", home, new BackupStore(root), new Retention.Policy(0, 0, 0, 0), false, 0, "test"),
          new RecordingQuiescer(events, () -> tmp.resolve("instance-locked")),
          new RsyncDiskStrategy(home, List.of(), true, true, false, true, true, 1, new ProcessRunner()),
          new NoDatabaseProvider().create(new Provider.NoSettings(), null),
          List.of(watched, recording),
          Clock.systemUTC(),
          System::nanoTime);

      Manifest m = engine.backup(Progress.NONE);

      assertThat(m.state()).isEqualTo(Manifest.State.COMPLETE);
      assertThat(events).containsSubsequence("lock", "unlock", "email");
      assertThat(events.get(events.size() - 1)).as("given up within the 1 s limit, with room for a loaded machine")
          .isIn("email given up after 1s", "email given up after 2s", "email given up after 3s");
      assertThat(reports).singleElement().satisfies(r -> {
        assertThat(r.success()).isTrue();
        assertThat(r.tag()).isEqualTo(m.tag());
      });
      for (Socket s : held) {
        s.close();
      }
    }
  }

  private Notifier email(int port) {
    SnapstashConfig c = ConfigLoader.parse(
        "instance: {name: bb, home: " + tmp.resolve("home") + "}\n"
            + "backup: {root: " + tmp.resolve("backups") + "}\n"
            + "quiesce: {type: none}\n"
            + "notify:\n"
            + "  - {type: email, host: 127.0.0.1, port: " + port + ", security: none, from: s@example.com,"
            + " to: [a@example.com], timeout: 1s}\n",
        "notify.yml", Map.of());
    @SuppressWarnings({"unchecked", "rawtypes"})
    Provider<Record, Notifier> p = (Provider) Providers.require(StrategyKind.NOTIFY, "email", "notify[0].type");
    return p.create(c.notifications().get(0).settings(), Services.of(c.instance(), c.backup(), new ProcessRunner()));
  }
}
