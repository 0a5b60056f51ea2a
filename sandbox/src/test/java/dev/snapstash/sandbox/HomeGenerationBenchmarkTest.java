package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.gen.HomeGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The large-home figure (about 1 GiB and 100,000 files). Off by default; run with
 * {@code mvn -o -pl sandbox test -Dtest=HomeGenerationBenchmarkTest -Dsnapstash.bigHome=true}.
 */
@EnabledIfSystemProperty(named = "snapstash.bigHome", matches = "true")
class HomeGenerationBenchmarkTest {
  @TempDir Path tmp;

  @Test
  void largeHome() throws Exception {
    Tools.requireGit();
    SandboxLayout l = new SandboxLayout(tmp.resolve("sb"));
    Files.createDirectories(l.shared().resolve("data"));
    Files.writeString(tmp.resolve("pw"), "pw");
    try (SandboxDatabase db = SandboxDatabase.open(DbKind.H2, "jdbc:h2:file:" + l.h2Base(), "sa", "pw", "x")) {
      db.createSchema();
      HomeGenerator.Result r = new HomeGenerator(new ProcessRunner()).generate(db, l,
          new HomeGenerator.Spec(Integer.getInteger("repos", 10), Integer.getInteger("commits", 100),
              Integer.getInteger("files", 125), Integer.getInteger("kb", 10)));
      String du = new ProcessRunner().run(Command.of("du", "-sb", l.home().toString()).capturingStdout()).stdout();
      long files;
      try (var w = Files.walk(l.home())) {
        files = w.filter(Files::isRegularFile).count();
      }
      System.out.printf("HOME-GENERATION: %d repos, %d files in trees, %d MiB content, %s bytes on disk (%d files"
          + " on disk) in %d s%n", r.repositories(), r.filesInTrees(), r.bytesWritten() >> 20, du.split("\\s")[0],
          files, r.elapsed().toSeconds());
      assertThat(r.elapsed().toSeconds()).isLessThan(180);
    }
  }
}
