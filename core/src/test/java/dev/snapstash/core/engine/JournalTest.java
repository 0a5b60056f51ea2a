package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Undo;
import dev.snapstash.strategy.quiesce.bitbucket.BitbucketUndo;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest {
  @TempDir Path root;

  private static final URI BB = URI.create("http://127.0.0.1:7990");

  @Test
  void pendingUndosComeInSafetyOrderAndDoneOnesDrop() {
    try (Journal j = Journal.begin(root, "backup", "bb-20260101-000000")) {
      j.add(new RemovePartialBackup("bb-20260101-000000", root.resolve("bb-20260101-000000")));
      j.add(new BitbucketUndo.Unlock(BB, "u"));
      j.add(new BitbucketUndo.CancelTask(BB, "c"));
      j.add(new dev.snapstash.core.freeze.Thaw(Path.of("/mnt/home")));
      j.done(new dev.snapstash.core.freeze.Thaw(Path.of("/mnt/home")));
    }
    List<Journal.Entry> entries = Journal.read(root);
    assertThat(Journal.tag(entries)).hasValue("bb-20260101-000000");
    assertThat(Journal.pending(entries))
        .extracting(u -> u.getClass().getSimpleName())
        .containsExactly("CancelTask", "Unlock", "RemovePartialBackup");
  }

  @Test
  void aTornLastLineIsIgnored() throws Exception {
    try (Journal j = Journal.begin(root, "backup", "t")) {
      j.add(new BitbucketUndo.Unlock(BB, "u"));
    }
    Files.writeString(Journal.file(root), "{\"event\":\"add\",\"undo\":{\"un", StandardOpenOption.APPEND);
    assertThat(Journal.pending(Journal.read(root))).containsExactly(new BitbucketUndo.Unlock(BB, "u"));
  }

  @Test
  void aSecondRunRefusesWhileAJournalIsLeft() {
    Journal.begin(root, "backup", "t").close();
    assertThatThrownBy(() -> Journal.begin(root, "backup", "t2"))
        .hasMessageContaining("snapstash recover")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.PRECONDITION);
  }

  @Test
  void tokensNeverShowInToString() {
    assertThat(new BitbucketUndo.Unlock(BB, "secret-token").toString()).doesNotContain("secret-token");
    assertThat(new BitbucketUndo.CancelTask(BB, "secret-token").toString()).doesNotContain("secret-token");
  }

  /**
   * Recover replays the undo steps in safety order, each replaying itself against a real HTTP server: the instance
   * answers the cancel, then stops serving at the unlock (503). What was done is marked done, the rest stays; a
   * second recover finishes it; a third has nothing left to do.
   */
  @Test
  void recoverUndoesInOrderResumesAfterAFailureAndIsIdempotent() throws Exception {
    List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
    boolean[] serving = {false};
    com.sun.net.httpserver.HttpServer server =
        com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", x -> {
      String call = x.getRequestMethod() + " " + x.getRequestURI().getPath();
      int status = call.equals("DELETE /mvc/maintenance/lock") && !serving[0] ? 503 : 200;
      if (status == 200 && call.contains(" /mvc/")) { // the probes a client sends around them are not undo steps
        calls.add(call);
      }
      x.sendResponseHeaders(status, -1);
      x.close();
    });
    server.start();
    try {
      URI bb = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
      Path partial = root.resolve("t");
      Files.createDirectories(partial.resolve("home"));
      try (Journal j = Journal.begin(root, "backup", "t")) {
        j.add(new RemovePartialBackup("t", partial));
        j.add(new BitbucketUndo.Unlock(bb, "u"));
        j.add(new BitbucketUndo.CancelTask(bb, "c"));
      }
      var config = dev.snapstash.core.config.ConfigLoader.parse(
          "instance: {name: bb, home: /h, base-url: '" + bb + "', username: admin, password: '${env:PW}'}\n"
              + "backup: {root: " + root + ", rate-limit-wait: 1s}\n",
          "test.yml", java.util.Map.of("PW", "pw"));
      RecoverEngine engine =
          new RecoverEngine(
              new BackupStore(root),
              dev.snapstash.core.spi.Services.of(config.instance(), config.backup(), new dev.snapstash.core.process.ProcessRunner()),
              List.of(),
              Clock.systemUTC());
      assertThatThrownBy(engine::recover).hasMessageContaining("answered HTTP 503 when asked to unlock the instance");
      assertThat(calls).containsExactly("POST /mvc/maintenance");
      assertThat(partial).doesNotExist();
      assertThat(Journal.file(root)).exists();

      serving[0] = true;
      RecoverEngine.Report r = engine.recover();
      assertThat(calls).containsExactly("POST /mvc/maintenance", "DELETE /mvc/maintenance/lock");
      assertThat(r.undone()).singleElement().asString().startsWith("unlock");
      assertThat(Journal.file(root)).doesNotExist();
      assertThat(engine.recover().undone()).isEmpty();
    } finally {
      server.stop(0);
    }
  }

  /** Journals written before undo steps moved to their strategies' packages read back as the same steps. */
  @Test
  void aJournalOfEarlierVersionsReadsBack() throws Exception {
    Files.writeString(Journal.file(root), String.join("\n",
        "{\"event\":\"backup\",\"at\":\"2026-12-01T00:00:00Z\",\"tag\":\"bb-20261201-000000\",\"pid\":1}",
        "{\"event\":\"add\",\"at\":\"2026-12-01T00:00:01Z\",\"undo\":{\"undo\":\"remove-partial-backup\",\"tag\":\"bb-20261201-000000\",\"dir\":\"/b/bb-20261201-000000\"}}",
        "{\"event\":\"add\",\"at\":\"2026-12-01T00:00:02Z\",\"undo\":{\"undo\":\"unlock\",\"baseUrl\":\"http://bb\",\"unlockToken\":\"u\"}}",
        "{\"event\":\"add\",\"at\":\"2026-12-01T00:00:03Z\",\"undo\":{\"undo\":\"cancel\",\"baseUrl\":\"http://bb\",\"cancelToken\":\"c\"}}",
        "{\"event\":\"add\",\"at\":\"2026-12-01T00:00:04Z\",\"undo\":{\"undo\":\"thaw\",\"mountPoint\":\"/mnt/home\"}}",
        "{\"event\":\"add\",\"at\":\"2026-12-01T00:00:05Z\",\"undo\":{\"undo\":\"run-command\",\"argv\":[\"systemctl\",\"start\",\"bb\"]}}",
        "{\"event\":\"add\",\"at\":\"2026-12-01T00:00:06Z\",\"undo\":{\"undo\":\"delete-snapshot\",\"kind\":\"btrfs-subvolume\",\"id\":\"/s/bb\"}}",
        ""));
    assertThat(Journal.pending(Journal.read(root)))
        .extracting(Undo::describe)
        .containsExactly(
            "thaw /mnt/home", "cancel the backup task on http://bb", "unlock http://bb", "run systemctl start bb",
            "delete btrfs-subvolume /s/bb", "remove the partial backup bb-20261201-000000");
  }

  /**
   * A journal left by a run of the release before providers (its undo records were one sealed interface in the SPI)
   * still reads, step for step: a process killed before an upgrade is recovered by the upgraded one. The lines are
   * as that release wrote them.
   */
  @Test
  void aJournalWrittenBeforeProvidersStillReads() throws Exception {
    Files.createDirectories(root);
    Files.writeString(Journal.file(root), String.join("\n",
        "{\"event\":\"backup\",\"at\":1764583200.000000000,\"tag\":\"bb-20261201-100000\",\"pid\":4242,\"undo\":null}",
        "{\"event\":\"add\",\"at\":1764583201.5,\"tag\":null,\"pid\":null,\"undo\":{\"undo\":\"remove-partial-backup\",\"tag\":\"bb-20261201-100000\",\"dir\":\"/b/bb-20261201-100000\"}}",
        "{\"event\":\"add\",\"at\":1764583202.5,\"tag\":null,\"pid\":null,\"undo\":{\"undo\":\"unlock\",\"baseUrl\":\"http://bb:7990\",\"unlockToken\":\"u\"}}",
        "{\"event\":\"add\",\"at\":1764583202.6,\"tag\":null,\"pid\":null,\"undo\":{\"undo\":\"cancel\",\"baseUrl\":\"http://bb:7990\",\"cancelToken\":\"c\"}}",
        "{\"event\":\"add\",\"at\":1764583203,\"tag\":null,\"pid\":null,\"undo\":{\"undo\":\"thaw\",\"mountPoint\":\"/mnt/home\"}}",
        "{\"event\":\"add\",\"at\":1764583204,\"tag\":null,\"pid\":null,\"undo\":{\"undo\":\"run-command\",\"argv\":[\"systemctl\",\"start\",\"bb\"]}}",
        "{\"event\":\"add\",\"at\":1764583205,\"tag\":null,\"pid\":null,\"undo\":{\"undo\":\"delete-snapshot\",\"kind\":\"btrfs-subvolume\",\"id\":\"/s/bb\"}}",
        "{\"event\":\"done\",\"at\":1764583206,\"tag\":null,\"pid\":null,\"undo\":{\"undo\":\"thaw\",\"mountPoint\":\"/mnt/home\"}}",
        ""));
    List<Journal.Entry> entries = Journal.read(root);
    assertThat(Journal.tag(entries)).hasValue("bb-20261201-100000");
    assertThat(Journal.pending(entries)).containsExactly(
        new BitbucketUndo.CancelTask(URI.create("http://bb:7990"), "c"),
        new BitbucketUndo.Unlock(URI.create("http://bb:7990"), "u"),
        new dev.snapstash.strategy.quiesce.command.RunCommand(List.of("systemctl", "start", "bb")),
        new dev.snapstash.strategy.disk.btrfs.DeleteSnapshot("btrfs-subvolume", "/s/bb"),
        new RemovePartialBackup("bb-20261201-100000", Path.of("/b/bb-20261201-100000")));
  }
}
