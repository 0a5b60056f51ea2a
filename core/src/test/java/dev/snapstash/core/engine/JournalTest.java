package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Undo;
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
      j.add(new Undo.RemovePartialBackup("bb-20260101-000000", root.resolve("bb-20260101-000000")));
      j.add(new Undo.Unlock(BB, "u"));
      j.add(new Undo.CancelTask(BB, "c"));
      j.add(new Undo.Thaw(Path.of("/mnt/home")));
      j.done(new Undo.Thaw(Path.of("/mnt/home")));
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
      j.add(new Undo.Unlock(BB, "u"));
    }
    Files.writeString(Journal.file(root), "{\"event\":\"add\",\"undo\":{\"un", StandardOpenOption.APPEND);
    assertThat(Journal.pending(Journal.read(root))).containsExactly(new Undo.Unlock(BB, "u"));
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
    assertThat(new Undo.Unlock(BB, "secret-token").toString()).doesNotContain("secret-token");
    assertThat(new Undo.CancelTask(BB, "secret-token").toString()).doesNotContain("secret-token");
  }

  @Test
  void recoverUndoesInOrderResumesAfterAFailureAndIsIdempotent() throws Exception {
    Path partial = root.resolve("t");
    Files.createDirectories(partial.resolve("home"));
    try (Journal j = Journal.begin(root, "backup", "t")) {
      j.add(new Undo.RemovePartialBackup("t", partial));
      j.add(new Undo.Unlock(BB, "u"));
      j.add(new Undo.CancelTask(BB, "c"));
    }
    List<String> calls = new ArrayList<>();
    boolean[] unreachable = {true};
    RecoverEngine engine =
        new RecoverEngine(
            new BackupStore(root),
            u -> x -> {
              if (x instanceof Undo.Unlock && unreachable[0]) {
                throw new SnapstashException(ErrorKind.UNREACHABLE, "cannot reach Bitbucket");
              }
              calls.add(x.getClass().getSimpleName());
            },
            List.of(),
            Clock.systemUTC());
    assertThatThrownBy(engine::recover).hasMessageContaining("cannot reach Bitbucket");
    assertThat(calls).containsExactly("CancelTask");
    assertThat(partial).doesNotExist();
    assertThat(Journal.file(root)).exists();

    unreachable[0] = false;
    RecoverEngine.Report r = engine.recover();
    assertThat(calls).containsExactly("CancelTask", "Unlock");
    assertThat(r.undone()).singleElement().asString().startsWith("unlock");
    assertThat(Journal.file(root)).doesNotExist();
    assertThat(engine.recover().undone()).isEmpty();
  }
}
