package dev.snapstash.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.cli.Main;
import dev.snapstash.core.util.Json;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.sandbox.RunningSandbox;
import dev.snapstash.sandbox.SandboxOptions;
import dev.snapstash.sandbox.load.LoadGenerator;
import dev.snapstash.testing.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A sandbox instance (real HTTP, real git, a real database) with the snapstash command line pointed at it through
 * the configuration the sandbox writes: the reference example of a backup configuration.
 */
final class Scenario implements AutoCloseable {
  final Path dir;
  final RunningSandbox sandbox;
  final ProcessRunner runner = new ProcessRunner();

  private Scenario(Path dir, RunningSandbox sandbox) {
    this.dir = dir;
    this.sandbox = sandbox;
  }

  /** Starts a sandbox on H2 ({@code db == null}) or on the given external PostgreSQL/MariaDB database. */
  static Scenario start(Path dir, DbKind kind, TestDatabase db) {
    return start(dir, kind, db, o -> o);
  }

  /** As {@link #start(Path, DbKind, TestDatabase)}, with the sandbox's options adjusted (TLS, context path). */
  static Scenario start(Path dir, DbKind kind, TestDatabase db, java.util.function.UnaryOperator<SandboxOptions> adjust) {
    SandboxOptions o = adjust.apply(SandboxOptions.defaults(dir).withPort(0).withContent(3, 3, 5, 2));
    if (db != null) {
      o = o.withDatabase(kind, db.jdbcUrl(), db.user(), db.passwordFile());
    }
    return new Scenario(dir, RunningSandbox.start(o, new ProcessRunner()));
  }

  Path config() {
    return dir.resolve("snapstash.yml");
  }

  Path backups() {
    return dir.resolve("backups");
  }

  /** Writes a variant of the sandbox's configuration with extra keys under {@code backup:} and returns it. */
  Path configWithBackupKeys(String... lines) throws Exception {
    String yml = Files.readString(config());
    String extra = String.join("", java.util.Arrays.stream(lines).map(l -> "  " + l + "\n").toList());
    Path p = dir.resolve("variant-" + System.nanoTime() + ".yml");
    Files.writeString(p, yml.replace("backup:\n", "backup:\n" + extra));
    return p;
  }

  /** Writes a variant of the sandbox's configuration with {@code from} replaced by {@code to}. */
  Path configReplacing(String from, String to) throws Exception {
    String yml = Files.readString(config());
    if (!yml.contains(from)) {
      throw new AssertionError("no '" + from + "' in " + yml);
    }
    Path p = dir.resolve("variant-" + System.nanoTime() + ".yml");
    Files.writeString(p, yml.replace(from, to));
    return p;
  }

  /** Writes a variant whose database section is replaced, e.g. to restore into a scratch database. */
  Path configWithDatabase(String databaseSection) throws Exception {
    String yml = Files.readString(config());
    Path p = dir.resolve("variant-" + System.nanoTime() + ".yml");
    Files.writeString(p, yml.substring(0, yml.indexOf("database:\n")) + databaseSection);
    return p;
  }

  record Run(int exit, String out, String err) {
    JsonNode json() {
      try {
        return Json.MAPPER.readTree(out);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + out + "\nstderr: " + err, e);
      }
    }
  }

  /**
   * The native switch this test JVM was given ({@code -Dsnapstash.native}, see util.Natives), as the option that
   * passes it on to a jar a test starts: so that .ci/run's second pass with natives off reaches those processes too.
   */
  static List<String> nativeSwitch() {
    String value = System.getProperty(dev.snapstash.core.util.Natives.PROPERTY);
    return value == null || value.isBlank()
        ? List.of()
        : List.of("-D" + dev.snapstash.core.util.Natives.PROPERTY + "=" + value);
  }

  static Run snapstash(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, false, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  /** Runs push load in the background; join the returned thread. */
  Thread load(int clients, Duration duration, Path ledger) {
    Thread t =
        new Thread(
            () ->
                new LoadGenerator(runner, Clock.systemUTC())
                    .run(
                        new LoadGenerator.Options(
                            sandbox.baseUrl(), "admin", sandbox.adminPassword(), clients, duration, 10_000, ledger,
                            dir.resolve("load-work"))),
            "load");
    t.start();
    return t;
  }

  /** Pushes {@code n} commits from one client and waits for them; returns how many were acknowledged. */
  int push(int n) {
    return new LoadGenerator(runner, Clock.systemUTC())
        .run(new LoadGenerator.Options(sandbox.baseUrl(), "admin", sandbox.adminPassword(), 1, Duration.ofMinutes(2), n,
            dir.resolve("push-ledger.jsonl"), dir.resolve("push-work")))
        .pushes();
  }

  /** Directories under the backup root (complete, failed or partial). */
  List<Path> backupDirs() throws Exception {
    if (!Files.isDirectory(backups())) {
      return List.of();
    }
    try (var s = Files.list(backups())) {
      return s.filter(Files::isDirectory).toList();
    }
  }

  // ---- consistency of a restored copy -------------------------------------------------------------------------

  record LedgerRow(long repositoryId, String ref, String sha) {}

  static List<LedgerRow> ledger(Connection c) throws Exception {
    List<LedgerRow> rows = new ArrayList<>();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT repository_id, ref_name, new_sha FROM push_ledger ORDER BY id")) {
      while (rs.next()) {
        rows.add(new LedgerRow(rs.getLong(1), rs.getString(2), rs.getString(3)));
      }
    }
    return rows;
  }

  static Map<String, Long> repositoryIds(Connection c) throws Exception {
    Map<String, Long> ids = new HashMap<>();
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT r.id, p.project_key, r.slug FROM repository r JOIN project p ON p.id = r.project_id")) {
      while (rs.next()) {
        ids.put(rs.getString(2) + "/" + rs.getString(3), rs.getLong(1));
      }
    }
    return ids;
  }

  /**
   * The proof the issue asks for, on a restored home and database: every push acknowledged before the lock is in
   * the repositories; every ledger row's commit exists; every pushed ref has its ledger row.
   */
  void assertConsistent(Path home, Connection db, Path clientLedger, Instant lockedAt) throws Exception {
    Map<String, Long> ids = repositoryIds(db);
    List<LedgerRow> rows = ledger(db);
    int before = 0;
    for (Map<String, String> push : LoadGenerator.readLedger(clientLedger)) {
      if (!Instant.parse(push.get("time")).isBefore(lockedAt)) {
        continue;
      }
      before++;
      Path repo = home.resolve("shared/data/repositories/" + ids.get(push.get("repo")));
      assertThat(git(repo, "cat-file", "-e", push.get("sha") + "^{commit}"))
          .as("push %s acknowledged before the lock is in the backup", push)
          .isZero();
      assertThat(git(repo, "merge-base", "--is-ancestor", push.get("sha"), push.get("ref")))
          .as(() -> push.get("sha") + " is reachable from " + push.get("ref") + " in the backup, whose refs are:\n"
              + runner.runAllowingFailure(Command.of("git", "--git-dir=" + repo, "for-each-ref").capturingStdout(), l -> {}).stdout())
          .isZero();
    }
    assertThat(before).as("pushes acknowledged before the lock").isPositive();
    Map<String, String> lastByRef = new HashMap<>();
    for (LedgerRow r : rows) {
      Path repo = home.resolve("shared/data/repositories/" + r.repositoryId());
      assertThat(git(repo, "cat-file", "-e", r.sha() + "^{commit}")).as("ledger row %s has its commit", r).isZero();
      lastByRef.put(r.repositoryId() + " " + r.ref(), r.sha());
    }
    for (long id : ids.values()) {
      Path repo = home.resolve("shared/data/repositories/" + id);
      String refs =
          runner.run(Command.of("git", "--git-dir=" + repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/load").capturingStdout()).stdout();
      for (String line : refs.lines().toList()) {
        String[] f = line.split(" ");
        assertThat(lastByRef.get(id + " " + f[1])).as("ref %s of repository %d has its ledger row", f[1], id).isEqualTo(f[0]);
      }
    }
  }

  int git(Path repo, String... args) {
    List<String> argv = new ArrayList<>(List.of("git", "--git-dir=" + repo));
    argv.addAll(List.of(args));
    return runner.runAllowingFailure(Command.of(argv).discardingStdout(), l -> {}).exitCode();
  }

  static Connection h2(Path home, Path passwordFile) throws Exception {
    return DriverManager.getConnection(
        "jdbc:h2:file:" + home.resolve("shared/data/db") + ";IFEXISTS=TRUE", "sa",
        Files.readString(passwordFile, StandardCharsets.UTF_8).strip());
  }

  @Override
  public void close() {
    sandbox.close();
  }
}
