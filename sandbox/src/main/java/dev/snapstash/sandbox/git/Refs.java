package dev.snapstash.sandbox.git;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Reads and moves refs of a bare repository with the git CLI. */
public final class Refs {
  public static final String ZERO = "0000000000000000000000000000000000000000";

  /** One ref that moved: {@code oldSha} or {@code newSha} is {@link #ZERO} for a creation or deletion. */
  public record Update(String ref, String oldSha, String newSha) {}

  private final ProcessRunner runner;

  public Refs(ProcessRunner runner) {
    this.runner = runner;
  }

  public static Command forEachRef(Path repo) {
    return Command.of("git", "--git-dir=" + repo, "for-each-ref", "--format=%(objectname) %(refname)")
        .capturingStdout()
        .withTimeout(Duration.ofMinutes(1));
  }

  /** Every ref under {@code refs/} and the commit (or object) it names. */
  public Map<String, String> read(Path repo) {
    Map<String, String> refs = new LinkedHashMap<>();
    for (String line : runner.run(forEachRef(repo)).stdout().split("\n")) {
      int sp = line.indexOf(' ');
      if (sp > 0) {
        refs.put(line.substring(sp + 1), line.substring(0, sp));
      }
    }
    return refs;
  }

  /** What changed between two readings, in ref-name order. */
  public static List<Update> diff(Map<String, String> before, Map<String, String> after) {
    List<Update> out = new ArrayList<>();
    java.util.TreeSet<String> names = new java.util.TreeSet<>(before.keySet());
    names.addAll(after.keySet());
    for (String ref : names) {
      String o = before.getOrDefault(ref, ZERO);
      String n = after.getOrDefault(ref, ZERO);
      if (!Objects.equals(o, n)) {
        out.add(new Update(ref, o, n));
      }
    }
    return out;
  }

  /** Moves refs back to where they were, each only if it still names what the push wrote. */
  public void revert(Path repo, List<Update> updates) {
    for (Update u : updates) {
      Command c =
          u.oldSha().equals(ZERO)
              ? Command.of("git", "--git-dir=" + repo, "update-ref", "-m", "sandbox: revert unrecorded push", "-d",
                  u.ref(), u.newSha())
              : Command.of("git", "--git-dir=" + repo, "update-ref", "-m", "sandbox: revert unrecorded push",
                  u.ref(), u.oldSha(), u.newSha());
      runner.run(c.withTimeout(Duration.ofMinutes(1)));
    }
  }
}
