package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.engine.Consistency;
import dev.snapstash.core.engine.GitLocks;
import dev.snapstash.core.engine.VerifyEngine.Check;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The sandbox records pushes as Bitbucket does (sta_activity, sta_repo_activity, sta_repo_push_activity,
 * sta_repo_push_ref, with Bitbucket's column names and types) besides its own push_ledger, its repository rows carry
 * the columns a restore check reads, and a home made by an older sandbox, without any of that, still starts.
 */
class PushTablesTest {
  @RegisterExtension static final DatabaseServers servers = new DatabaseServers();
  @TempDir Path tmp;
  private final ProcessRunner runner = new ProcessRunner();

  private static final String ZEROS = "0000000000000000000000000000000000000000";

  /** One row of sta_repo_push_ref with its activity, as Bitbucket's support queries join them. */
  record PushRef(long activity, long repository, LocalDateTime at, int userId, String trigger, String ref,
      int changeType, String from, String to) {}

  static List<PushRef> pushRefs(RunningSandbox sb) {
    return sb.database().inTransaction(c -> {
      List<PushRef> out = new ArrayList<>();
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(
              "SELECT a.id, ra.repository_id, a.created_timestamp, a.user_id, pa.trigger_id, pr.ref_id,"
                  + " pr.change_type, pr.from_hash, pr.to_hash FROM sta_repo_push_ref pr"
                  + " JOIN sta_repo_push_activity pa ON pa.activity_id = pr.activity_id"
                  + " JOIN sta_repo_activity ra ON ra.activity_id = pr.activity_id"
                  + " JOIN sta_activity a ON a.id = pr.activity_id ORDER BY a.id, pr.ref_id")) {
        while (rs.next()) {
          out.add(new PushRef(rs.getLong(1), rs.getLong(2), rs.getTimestamp(3).toLocalDateTime(), rs.getInt(4),
              rs.getString(5), rs.getString(6), rs.getInt(7), rs.getString(8), rs.getString(9)));
        }
      }
      return out;
    });
  }

  private Map<String, String> refs(Path repo) {
    Map<String, String> refs = new TreeMap<>();
    runner.run(Command.of("git", "--git-dir=" + repo, "for-each-ref", "--format=%(refname) %(objectname)").capturingStdout())
        .stdout().lines().forEach(l -> refs.put(l.split(" ")[0], l.split(" ")[1]));
    return refs;
  }

  private List<Check> crossCheck(RunningSandbox sb) {
    return sb.database().inTransaction(c ->
        new Consistency(runner, new Random(1)).database(c, sb.layout().home(), GitLocks.repositories(sb.layout().home())));
  }

  @ParameterizedTest
  @EnumSource(DbKind.class)
  void pushesAreRecordedAsBitbucketRecordsThem(DbKind kind) throws Exception {
    Tools.requireGit();
    LocalDateTime beforeStart = LocalDateTime.now(ZoneOffset.UTC).minusSeconds(1);
    try (RunningSandbox sb = RunningSandbox.start(servers.on(kind, SandboxOptions.defaults(tmp.resolve("sb")).withPort(0)),
        runner)) {
      // The generated content, as the first push of each repository: every ref new, in Bitbucket's tables only.
      List<PushRef> seeded = pushRefs(sb);
      assertThat(sb.database().ledger()).isEmpty();
      for (long id = 1; id <= 3; id++) {
        long repo = id;
        Map<String, String> onDisk = refs(sb.layout().repository(id));
        assertThat(onDisk).containsKey("refs/heads/main");
        List<PushRef> mine = seeded.stream().filter(r -> r.repository() == repo).toList();
        assertThat(mine).extracting(PushRef::ref).containsExactlyElementsOf(onDisk.keySet());
        assertThat(mine).allSatisfy(r -> {
          assertThat(r.changeType()).isEqualTo(1);
          assertThat(r.from()).isEqualTo(ZEROS);
          assertThat(r.to()).isEqualTo(onDisk.get(r.ref()));
          assertThat(r.trigger()).isEqualTo("push");
        });
        assertThat(mine).extracting(PushRef::activity).containsOnly(mine.get(0).activity());
      }
      long described = sb.database().inTransaction(c -> {
        try (Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM repository WHERE state = 1 AND scm_id = 'git'"
                + " AND is_forkable = TRUE AND is_public = FALSE AND store_id IS NULL AND partition_id IS NULL"
                + " AND LENGTH(hierarchy_id) = 20")) {
          rs.next();
          return rs.getLong(1);
        }
      });
      assertThat(described).as("repository rows with Bitbucket's columns").isEqualTo(3);

      // Pushes over HTTP: a new branch, then an update of it and the deletion of another, in one push.
      GitClient git = new GitClient("admin", sb.adminPassword());
      Path work = tmp.resolve("work");
      git.run(tmp, "clone", "-q", sb.baseUrl() + "/scm/PRJ/repo-2.git", work.toString());
      Files.writeString(work.resolve("a.txt"), "a\n");
      git.run(work, "add", "a.txt");
      git.run(work, "commit", "-q", "-m", "a");
      String a = git.run(work, "rev-parse", "HEAD").stdout().strip();
      git.run(work, "push", "-q", "origin", "HEAD:refs/heads/topic", "HEAD:refs/heads/doomed");
      Files.writeString(work.resolve("b.txt"), "b\n");
      git.run(work, "add", "b.txt");
      git.run(work, "commit", "-q", "-m", "b");
      String b = git.run(work, "rev-parse", "HEAD").stdout().strip();
      git.run(work, "push", "-q", "origin", "HEAD:refs/heads/topic", ":refs/heads/doomed");
      LocalDateTime afterPushes = LocalDateTime.now(ZoneOffset.UTC).plusSeconds(1);

      List<PushRef> pushed = pushRefs(sb).stream().filter(r -> !seeded.contains(r)).toList();
      assertThat(pushed).extracting(PushRef::ref, PushRef::changeType, PushRef::from, PushRef::to).containsExactly(
          org.assertj.core.groups.Tuple.tuple("refs/heads/doomed", 1, ZEROS, a),
          org.assertj.core.groups.Tuple.tuple("refs/heads/topic", 1, ZEROS, a),
          org.assertj.core.groups.Tuple.tuple("refs/heads/doomed", 2, a, ZEROS),
          org.assertj.core.groups.Tuple.tuple("refs/heads/topic", 3, a, b));
      assertThat(pushed.stream().map(PushRef::activity).distinct()).as("one activity per push").hasSize(2);
      assertThat(pushed).allSatisfy(r -> {
        assertThat(r.repository()).isEqualTo(2);
        assertThat(r.at()).as("created_timestamp in UTC").isBetween(beforeStart, afterPushes);
        assertThat(r.userId()).isEqualTo(1);
      });
      assertThat(sb.database().ledger()).hasSize(4);

      // What the restore check reads, read from the live sandbox: both push checks pass.
      List<Check> checks = crossCheck(sb);
      assertThat(checks).extracting(Check::name)
          .containsExactly("repositories-match", "latest-pushes-present", "pushes-present");
      assertThat(checks).allSatisfy(c -> assertThat(c.ok()).as(c.name() + ": " + c.detail()).isTrue());
      assertThat(checks.get(1).detail()).startsWith("newest recorded push of 3 repositories:");
    }
  }

  /**
   * A home from a sandbox older than these tables: its repository rows lack Bitbucket's columns and it has no
   * push tables. It starts; the columns are added (AVAILABLE, local, a hierarchy id each), and pushes from then on
   * are recorded in both places.
   */
  @ParameterizedTest
  @EnumSource(DbKind.class)
  void aHomeFromAnOlderSandboxStarts(DbKind kind) throws Exception {
    Tools.requireGit();
    Path dir = tmp.resolve("sb");
    SandboxOptions o = servers.on(kind, SandboxOptions.defaults(dir).withPort(0));
    String url;
    String user;
    String password;
    try (RunningSandbox sb = RunningSandbox.start(o, runner)) {
      url = sb.state().jdbcUrl();
      user = sb.state().dbUser();
      password = Secrets.read(Path.of(sb.state().dbPasswordFile()), "x");
    }
    // Back to the tables the previous sandbox made.
    try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
      for (String t : List.of("sta_repo_push_ref", "sta_repo_push_activity", "sta_repo_activity", "sta_activity")) {
        s.execute("DROP TABLE " + t);
      }
      for (String col : List.of("state", "scm_id", "hierarchy_id", "is_forkable", "is_public", "store_id", "partition_id")) {
        s.execute("ALTER TABLE repository DROP COLUMN " + col);
      }
    }
    try (RunningSandbox sb = RunningSandbox.start(SandboxOptions.defaults(dir).withPort(0), runner)) {
      assertThat(sb.database().allRepositories()).hasSize(3);
      List<String> ids = sb.database().inTransaction(c -> {
        List<String> out = new ArrayList<>();
        try (Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT hierarchy_id FROM repository WHERE state = 1 AND scm_id = 'git'"
                + " AND store_id IS NULL AND partition_id IS NULL ORDER BY id")) {
          while (rs.next()) {
            out.add(rs.getString(1));
          }
        }
        return out;
      });
      assertThat(ids).hasSize(3).allSatisfy(h -> assertThat(h).matches("[0-9a-f]{20}")).doesNotHaveDuplicates();
      assertThat(pushRefs(sb)).isEmpty();

      GitClient git = new GitClient("admin", sb.adminPassword());
      Path work = tmp.resolve("work");
      git.run(tmp, "clone", "-q", sb.baseUrl() + "/scm/PRJ/repo-1.git", work.toString());
      git.run(work, "commit", "-q", "--allow-empty", "-m", "after the upgrade");
      git.run(work, "push", "-q", "origin", "HEAD:refs/heads/upgraded");
      assertThat(pushRefs(sb)).extracting(PushRef::ref).containsExactly("refs/heads/upgraded");
      assertThat(sb.database().ledger()).extracting(dev.snapstash.sandbox.db.SandboxDatabase.LedgerRow::ref)
          .containsExactly("refs/heads/upgraded");
      assertThat(crossCheck(sb)).allSatisfy(c -> assertThat(c.ok()).as(c.name() + ": " + c.detail()).isTrue());
    }
  }
}
