package dev.snapstash.sandbox.gen;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.SandboxLayout;
import dev.snapstash.sandbox.db.SandboxDatabase;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills a new home with repositories of realistic shape: source files that grow and change over many commits,
 * some binary assets, a tag, a packfile plus a few loose objects (as a live repository has between two
 * {@code git gc} runs).
 *
 * <p>Content is written as {@code git fast-import} streams, one process per repository and one repository per
 * core at a time, because thousands of {@code git commit} calls would take minutes. Deterministic for a given
 * spec.
 */
public final class HomeGenerator {
  private static final Logger log = LoggerFactory.getLogger(HomeGenerator.class);
  private static final int REPOS_PER_PROJECT = 10;
  private static final long EPOCH = 1_600_000_000L;
  private static final String[] AUTHORS = {
    "Alice Example <alice@corp.example.com>", "Bob Builder <bob@corp.example.com>",
    "Chandra Rao <chandra@corp.example.com>", "Dmitri Ivanov <dmitri@corp.example.com>"
  };
  private static final String[] WORDS = (
      "final var return this new if else for while int long String List Map Optional stream filter map "
          + "collect import package class record interface public private static void throw try catch finally "
          + "repository project commit branch merge request build deploy config value key index cache lock "
          + "user admin token account mirror hook event handler service client server session queue retry")
      .split(" ");

  /** What to generate. */
  public record Spec(int repos, int commits, int filesPerCommit, int blobKb) {}

  /** What was generated. */
  public record Result(int repositories, long filesInTrees, long bytesWritten, Duration elapsed) {}

  private final ProcessRunner runner;

  public HomeGenerator(ProcessRunner runner) {
    this.runner = runner;
  }

  /** Project of the n-th repository (1-based): PRJ for the first ten, then PRJ2, PRJ3, ... */
  public static String projectKey(int repoNumber) {
    int p = (repoNumber - 1) / REPOS_PER_PROJECT + 1;
    return p == 1 ? "PRJ" : "PRJ" + p;
  }

  public Result generate(SandboxDatabase db, SandboxLayout layout, Spec spec) {
    long t0 = System.nanoTime();
    try {
      Files.createDirectories(layout.repositories());
      Files.createDirectories(layout.tmp());
    } catch (IOException e) {
      throw SnapstashException.storage("cannot create " + layout.repositories() + ": " + e.getMessage(), e);
    }
    long projectId = 0;
    String lastKey = null;
    List<SandboxDatabase.Repository> repos = new ArrayList<>();
    for (int i = 1; i <= spec.repos(); i++) {
      String key = projectKey(i);
      if (!key.equals(lastKey)) {
        projectId++;
        db.insertProject(new SandboxDatabase.Project(projectId, key, projectId == 1 ? "Project" : "Project " + projectId));
        lastKey = key;
      }
      SandboxDatabase.Repository r = new SandboxDatabase.Repository(i, projectId, key, "repo-" + i, "Repo " + i);
      db.insertRepository(r);
      repos.add(r);
    }
    AtomicLong files = new AtomicLong();
    AtomicLong bytes = new AtomicLong();
    int threads = Math.max(1, Math.min(spec.repos(), Runtime.getRuntime().availableProcessors()));
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> jobs = new ArrayList<>();
      for (SandboxDatabase.Repository r : repos) {
        jobs.add(pool.submit(() -> {
          long[] stats = repository(layout, r, spec);
          recordFirstPush(db, layout, r);
          files.addAndGet(stats[0]);
          bytes.addAndGet(stats[1]);
          return null;
        }));
      }
      for (Future<?> f : jobs) {
        f.get();
      }
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof SnapstashException se) {
        throw se;
      }
      throw SnapstashException.internal("generating repositories failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SnapstashException(dev.snapstash.core.error.ErrorKind.INTERRUPTED, "generation was interrupted", e);
    } finally {
      pool.shutdownNow();
    }
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    log.info("generated {} repositories, {} files in trees, {} MiB of content in {} s", spec.repos(), files.get(),
        bytes.get() >> 20, took.toSeconds());
    return new Result(spec.repos(), files.get(), bytes.get(), took);
  }

  /**
   * Records the generated content as the push that would have brought it to Bitbucket: every ref new, in
   * Bitbucket's push tables only, since no client pushed it (the sandbox's {@code push_ledger} holds what clients
   * pushed, and tests compare it with their own ledgers).
   */
  private void recordFirstPush(SandboxDatabase db, SandboxLayout layout, SandboxDatabase.Repository r) {
    Path dir = layout.repository(r.id());
    String refs = runner.run(Command.of("git", "--git-dir=" + dir, "for-each-ref", "--format=%(objectname) %(refname)")
        .capturingStdout()).stdout();
    java.time.Instant now = java.time.Instant.now();
    List<SandboxDatabase.LedgerRow> rows = new ArrayList<>();
    for (String line : refs.lines().filter(l -> !l.isBlank()).toList()) {
      String[] f = line.split(" ", 2);
      rows.add(new SandboxDatabase.LedgerRow(r.id(), f[1], ZEROS, f[0], now));
    }
    if (!rows.isEmpty()) {
      db.recordPushes(rows);
    }
  }

  private static final String ZEROS = "0000000000000000000000000000000000000000";

  private long[] repository(SandboxLayout layout, SandboxDatabase.Repository r, Spec spec) throws IOException {
    Path dir = layout.repository(r.id());
    runner.run(Command.of("git", "init", "--quiet", "--bare", "--initial-branch=main", dir.toString()));
    runner.run(Command.of("git", "--git-dir=" + dir, "config", "core.logAllRefUpdates", "true"));
    int loose = Math.min(2, spec.commits() / 2);
    int packed = spec.commits() - loose;
    SplittableRandom rnd = new SplittableRandom(r.id() * 7919L);
    List<String> paths = new ArrayList<>();
    long[] stats = new long[2];
    Path stream = layout.tmp().resolve("fast-import-" + r.id() + ".stream");
    try {
      if (packed > 0) {
        write(stream, rnd, paths, spec, 0, packed, stats, false);
        fastImport(dir, stream, 0);
      }
      if (loose > 0) {
        write(stream, rnd, paths, spec, packed, loose, stats, packed > 0);
        fastImport(dir, stream, Integer.MAX_VALUE);
      }
    } finally {
      Files.deleteIfExists(stream);
    }
    stats[0] = paths.size();
    return stats;
  }

  private void fastImport(Path dir, Path stream, int unpackLimit) {
    runner.run(Command.of("git", "--git-dir=" + dir, "-c", "fastimport.unpackLimit=" + unpackLimit, "fast-import",
            "--quiet")
        .stdinFrom(stream)
        .withTimeout(Duration.ofMinutes(30)));
  }

  private static void write(Path file, SplittableRandom rnd, List<String> paths, Spec spec, int first, int count,
      long[] stats, boolean continues) throws IOException {
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      for (int c = first; c < first + count; c++) {
        String author = AUTHORS[c % AUTHORS.length];
        long when = EPOCH + c * 3_600L + rnd.nextInt(3_000);
        String msg = (c == 0 ? "Initial import" : "Change " + c + ": " + sentence(rnd, 6)) + "\n";
        ascii(out, "commit refs/heads/main\nmark :" + (c + 1) + "\n");
        ascii(out, "author " + author + " " + when + " +0000\ncommitter " + author + " " + when + " +0000\n");
        data(out, msg.getBytes(StandardCharsets.UTF_8));
        if (c > first) {
          ascii(out, "from :" + c + "\n");
        } else if (continues) {
          ascii(out, "from refs/heads/main^0\n");
        }
        for (int f = 0; f < spec.filesPerCommit(); f++) {
          String path;
          if (!paths.isEmpty() && rnd.nextInt(5) == 0) {
            path = paths.get(rnd.nextInt(paths.size()));
          } else {
            path = newPath(paths.size(), rnd);
            paths.add(path);
          }
          byte[] content = content(path, rnd, spec.blobKb() * 1024);
          stats[1] += content.length;
          ascii(out, "M 100644 inline " + path + "\n");
          data(out, content);
        }
        ascii(out, "\n");
        if (c == first + count / 2 && !continues) {
          ascii(out, "reset refs/tags/v1." + c + "\nfrom :" + (c + 1) + "\n\n");
        }
      }
      ascii(out, "done\n");
    }
  }

  private static String newPath(int n, SplittableRandom rnd) {
    int module = n / 200;
    return switch (rnd.nextInt(10)) {
      case 0 -> "docs/module" + module + "/page" + n + ".md";
      case 1 -> "assets/module" + module + "/blob" + n + ".bin";
      default -> "src/main/java/com/example/module" + module + "/Type" + n + ".java";
    };
  }

  /** Text that compresses like source code; assets are random bytes, as images and archives are. */
  private static byte[] content(String path, SplittableRandom rnd, int target) {
    int size = Math.max(64, target / 2 + rnd.nextInt(Math.max(1, target)));
    byte[] b = new byte[size];
    if (path.endsWith(".bin")) {
      for (int i = 0; i < size; i += 8) {
        long v = rnd.nextLong();
        for (int k = 0; k < 8 && i + k < size; k++) {
          b[i + k] = (byte) (v >>> (k * 8));
        }
      }
      return b;
    }
    int i = 0;
    while (i < size) {
      int indent = 2 * rnd.nextInt(4);
      for (int k = 0; k < indent && i < size; k++) {
        b[i++] = ' ';
      }
      int words = 3 + rnd.nextInt(8);
      for (int w = 0; w < words && i < size; w++) {
        String word = rnd.nextInt(4) == 0 ? Integer.toHexString(rnd.nextInt()) : WORDS[rnd.nextInt(WORDS.length)];
        for (int k = 0; k < word.length() && i < size; k++) {
          b[i++] = (byte) word.charAt(k);
        }
        if (i < size) {
          b[i++] = ' ';
        }
      }
      if (i < size) {
        b[i++] = '\n';
      }
    }
    b[size - 1] = '\n';
    return b;
  }

  private static String sentence(SplittableRandom rnd, int words) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < words; i++) {
      if (i > 0) {
        sb.append(' ');
      }
      sb.append(WORDS[rnd.nextInt(WORDS.length)]);
    }
    return sb.toString();
  }

  private static void ascii(OutputStream out, String s) throws IOException {
    out.write(s.getBytes(StandardCharsets.UTF_8));
  }

  private static void data(OutputStream out, byte[] bytes) throws IOException {
    ascii(out, "data " + bytes.length + "\n");
    out.write(bytes);
    out.write('\n');
  }
}
