package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An in-progress manifest is alive only while the process its journal names runs. */
class InProgressTest {
  private static final String TAG = "bb-20260101-000000";

  @TempDir Path root;

  private BackupStore store() {
    BackupStore store = new BackupStore(root);
    store.write(
        new Manifest(
            Manifest.FORMAT, TAG, Manifest.State.IN_PROGRESS, "bb", null, "test", Map.of(), Map.of(),
            Instant.parse("2026-01-01T00:00:00Z"), null, Map.of(), null, null, null, null, null, null, null, null, null, null));
    return store;
  }

  /** The first line a run writes to its journal, as if a process with this pid had written it at {@code at}. */
  private void journal(long pid, Instant at) throws Exception {
    Files.writeString(
        Journal.file(root),
        "{\"event\":\"backup\",\"at\":\"" + at + "\",\"tag\":\"" + TAG + "\",\"pid\":" + pid + "}\n");
  }

  @Test
  void aLiveRunIsRunning() {
    BackupStore store = store();
    try (Journal j = Journal.begin(root, "backup", TAG)) {
      InProgress.Status s = InProgress.of(store, store.list().get(0));
      assertThat(s.state()).isEqualTo(InProgress.State.RUNNING);
      assertThat(s.pid()).isEqualTo(ProcessHandle.current().pid());
      assertThat(s.recoverable()).isTrue();
    }
  }

  @Test
  void aRunWhoseProcessIsGoneDied() throws Exception {
    BackupStore store = store();
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    journal(p.pid(), Instant.now());
    InProgress.Status s = InProgress.of(store, store.list().get(0));
    assertThat(s.state()).isEqualTo(InProgress.State.DIED);
    assertThat(s.pid()).isEqualTo(p.pid());
    assertThat(s.recoverable()).as("its journal is there for recover").isTrue();
  }

  /** A pid reused by a process that started after the journal began is not the run. */
  @Test
  void aReusedPidDoesNotKeepARunAlive() throws Exception {
    BackupStore store = store();
    Instant jvmStart = ProcessHandle.current().info().startInstant().orElseThrow();
    journal(ProcessHandle.current().pid(), jvmStart.minusSeconds(3600));
    assertThat(InProgress.of(store, store.list().get(0)).state()).isEqualTo(InProgress.State.DIED);
  }

  @Test
  void withoutItsJournalTheRunDiedAndRecoverCannotHelp() {
    BackupStore store = store();
    InProgress.Status s = InProgress.of(store, store.list().get(0));
    assertThat(s.state()).isEqualTo(InProgress.State.DIED);
    assertThat(s.recoverable()).isFalse();
    assertThat(s.pid()).isNull();
  }

  /** The manifest listed in progress is read again: a run that has finished meanwhile shows its end. */
  @Test
  void aRunThatEndedWhileListingShowsItsEnd() {
    BackupStore store = store();
    Manifest listed = store.list().get(0);
    store.write(listed.withState(Manifest.State.COMPLETE, Instant.parse("2026-01-01T00:01:00Z"), null));
    InProgress.Status s = InProgress.of(store, listed);
    assertThat(s.state()).isEqualTo(InProgress.State.ENDED);
    assertThat(s.manifest().state()).isEqualTo(Manifest.State.COMPLETE);
  }
}
