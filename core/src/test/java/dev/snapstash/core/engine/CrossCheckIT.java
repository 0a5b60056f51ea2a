package dev.snapstash.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.engine.VerifyEngine.Check;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The cross-check of a restored copy against a database laid out as Bitbucket's (the tables and column types of
 * real dumps: repository rows with {@code state}, {@code store_id} and {@code partition_id}; pushes in {@code
 * sta_activity}, {@code sta_repo_activity}, {@code sta_repo_push_activity} and {@code sta_repo_push_ref}), on real
 * PostgreSQL, MariaDB and H2 servers and real Git repositories.
 */
class CrossCheckIT {
  @RegisterExtension static final PostgresFixture PG = new PostgresFixture();
  @RegisterExtension static final MariaDbFixture MARIADB = new MariaDbFixture();

  private static final String ZEROS = "0000000000000000000000000000000000000000";
  private static final String ABSENT = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
  private static final LocalDateTime T0 = LocalDateTime.of(2024, 3, 1, 12, 0);

  @TempDir Path tmp;
  private final ProcessRunner runner = new ProcessRunner();
  private final Consistency consistency = new Consistency(runner, new Random(1));

  @BeforeAll
  static void git() {
    Tools.require("git");
  }

  /** Which Bitbucket's tables: 8.x (Mesh and data stores), 7.2 (data stores), 4.x (neither; zoned timestamps). */
  enum Version { V8, V7, V4 }

  /** A database with Bitbucket's tables of one version, and a home whose repositories are real bare Git directories. */
  private final class Bitbucket implements AutoCloseable {
    final String kind;
    final Version version;
    final Connection c;
    final Path home;

    Bitbucket(String kind, Version version, Path home) throws Exception {
      this.kind = kind;
      this.version = version;
      this.home = home;
      c = switch (kind) {
        case "postgresql" -> PG.newDatabase().connect();
        case "mariadb" -> MARIADB.newDatabase().connect();
        default -> DriverManager.getConnection("jdbc:h2:mem:" + UUID.randomUUID(), "sa", "");
      };
      String ts = kind.equals("mariadb") ? "DATETIME" : version == Version.V4 ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP";
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE repository (id INTEGER NOT NULL PRIMARY KEY, slug VARCHAR(128) NOT NULL,"
            + " name VARCHAR(128) NOT NULL, state INTEGER NOT NULL, project_id INTEGER NOT NULL,"
            + " scm_id VARCHAR(255) NOT NULL, hierarchy_id VARCHAR(20) NOT NULL, is_forkable BOOLEAN NOT NULL,"
            + " is_public BOOLEAN NOT NULL"
            + (version != Version.V4 ? ", store_id BIGINT, description VARCHAR(255)" : "")
            + (version == Version.V8 ? ", partition_id INTEGER, is_read_only BOOLEAN DEFAULT FALSE NOT NULL,"
                + " is_archived BOOLEAN DEFAULT FALSE NOT NULL" : "")
            + ")");
        s.execute("CREATE TABLE sta_activity (id BIGINT NOT NULL PRIMARY KEY, activity_type INTEGER NOT NULL,"
            + " created_timestamp " + ts + " NOT NULL, user_id INTEGER NOT NULL)");
        s.execute("CREATE TABLE sta_repo_activity (activity_id BIGINT NOT NULL PRIMARY KEY, repository_id INTEGER NOT NULL)");
        s.execute("CREATE TABLE sta_repo_push_activity (activity_id BIGINT NOT NULL PRIMARY KEY, trigger_id VARCHAR(64) NOT NULL)");
        s.execute("CREATE TABLE sta_repo_push_ref (activity_id BIGINT NOT NULL, ref_id VARCHAR(1024) NOT NULL,"
            + " change_type INTEGER NOT NULL, from_hash VARCHAR(40) NOT NULL, to_hash VARCHAR(40) NOT NULL"
            + (version != Version.V4 ? ", ref_update_type INTEGER NOT NULL" : "") + ")");
        // Repository creations hang off sta_repo_activity too: they must not count as pushes.
        s.execute("CREATE TABLE sta_repo_created_activity (activity_id BIGINT NOT NULL PRIMARY KEY)");
      }
    }

    /** A repository row (AVAILABLE, local unless told otherwise). */
    Bitbucket row(long id, int state, Long storeId, Long partitionId) throws Exception {
      String cols = "id, slug, name, state, project_id, scm_id, hierarchy_id, is_forkable, is_public"
          + (version != Version.V4 ? ", store_id" : "") + (version == Version.V8 ? ", partition_id" : "");
      String vals = "?, ?, ?, ?, 1, 'git', ?, TRUE, FALSE" + (version != Version.V4 ? ", ?" : "")
          + (version == Version.V8 ? ", ?" : "");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO repository (" + cols + ") VALUES (" + vals + ")")) {
        ps.setLong(1, id);
        ps.setString(2, "repo-" + id);
        ps.setString(3, "Repo " + id);
        ps.setInt(4, state);
        ps.setString(5, String.format("%020d", id));
        if (version != Version.V4) {
          ps.setObject(6, storeId);
        }
        if (version == Version.V8) {
          ps.setObject(7, partitionId);
        }
        ps.executeUpdate();
      }
      return this;
    }

    Bitbucket row(long id) throws Exception {
      return row(id, 1, null, null);
    }

    record Ref(String name, int changeType, String from, String to) {}

    /** A push as Bitbucket records it, with an explicit activity id and time. */
    void push(long activity, long repository, LocalDateTime at, Ref... refs) throws Exception {
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO sta_activity (id, activity_type, created_timestamp, user_id) VALUES (?, 3, ?, 1)")) {
        ps.setLong(1, activity);
        ps.setTimestamp(2, Timestamp.valueOf(at));
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO sta_repo_activity VALUES (?, ?)")) {
        ps.setLong(1, activity);
        ps.setLong(2, repository);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO sta_repo_push_activity VALUES (?, 'push')")) {
        ps.setLong(1, activity);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO sta_repo_push_ref VALUES (?, ?, ?, ?, ?"
          + (version != Version.V4 ? ", 0" : "") + ")")) {
        for (Ref r : refs) {
          ps.setLong(1, activity);
          ps.setString(2, r.name());
          ps.setInt(3, r.changeType());
          ps.setString(4, r.from());
          ps.setString(5, r.to());
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }

    /** A repository created later than any push: an activity in sta_repo_activity that is not a push. */
    void created(long activity, long repository, LocalDateTime at) throws Exception {
      try (Statement s = c.createStatement()) {
        s.execute("INSERT INTO sta_activity VALUES (" + activity + ", 1, TIMESTAMP '" + Timestamp.valueOf(at) + "', 1)");
        s.execute("INSERT INTO sta_repo_activity VALUES (" + activity + ", " + repository + ")");
        s.execute("INSERT INTO sta_repo_created_activity VALUES (" + activity + ")");
      }
    }

    Path dir(long id) {
      return home.resolve("shared/data/repositories/" + id);
    }

    /** An empty bare repository at its id's directory. */
    Path repository(long id) {
      runner.run(Command.of("git", "init", "-q", "--bare", dir(id).toString()));
      return dir(id);
    }

    List<Check> check() {
      return consistency.database(c, home, GitLocks.repositories(home));
    }

    Check check(String name) {
      return check().stream().filter(x -> x.name().equals(name)).findFirst()
          .orElseThrow(() -> new AssertionError("no check " + name + " in " + check()));
    }

    @Override
    public void close() throws Exception {
      c.close();
    }
  }

  /** A new commit (empty tree) in {@code repo}, on {@code ref} unless null; returns its id. */
  private String commit(Path repo, String message, String ref) {
    String tree = git(repo, "hash-object", "-t", "tree", "-w", "--stdin");
    String commit = git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit-tree", tree, "-m", message);
    if (ref != null) {
      git(repo, "update-ref", ref, commit);
    }
    return commit;
  }

  private String git(Path repo, String... args) {
    List<String> argv = new java.util.ArrayList<>(List.of("git", "--git-dir=" + repo));
    argv.addAll(List.of(args));
    return runner.run(Command.of(argv).capturingStdout()).stdout().strip();
  }

  private static Bitbucket.Ref added(String ref, String to) {
    return new Bitbucket.Ref(ref, 1, ZEROS, to);
  }

  private static Bitbucket.Ref updated(String ref, String from, String to) {
    return new Bitbucket.Ref(ref, 3, from, to);
  }

  /**
   * Only the newest push counts, newest by its time and then by its id (not by id alone: ids come from per-node
   * allocators), and each of its refs must have its object; an older push naming an object long gone does not
   * matter, nor does an activity that is not a push.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "h2"})
  void theNewestRecordedPushMustHaveItsObjects(String kind) throws Exception {
    try (Bitbucket bb = new Bitbucket(kind, Version.V8, tmp.resolve("home"))) {
      Path repo = bb.repository(1);
      bb.row(1);
      String a = commit(repo, "a", "refs/heads/main");
      String b = commit(repo, "b", "refs/heads/main");
      String c = commit(repo, "c", "refs/heads/feature");
      bb.push(10, 1, T0, added("refs/heads/old", ABSENT));
      bb.push(11, 1, T0.plusMinutes(1), updated("refs/heads/main", a, b), added("refs/heads/feature", c));
      bb.created(90, 1, T0.plusDays(1));

      Check ok = bb.check("latest-pushes-present");
      assertThat(ok.ok()).as(ok.detail()).isTrue();
      assertThat(ok.detail()).isEqualTo("newest recorded push of 1 repositories: 2 refs, each object present");
      assertThat(bb.check("repositories-match").ok()).isTrue();

      // A later push with a lower id: newest by time, so its object is required, and it is not there.
      bb.push(5, 1, T0.plusMinutes(2), updated("refs/heads/main", b, ABSENT));
      Check missing = bb.check("latest-pushes-present");
      assertThat(missing.ok()).isFalse();
      assertThat(missing.detail()).isEqualTo(
          "newest recorded push of 1 repositories: 1 of 1 objects missing: [1 refs/heads/main deadbeefdead]");

      // At the same time, the higher id is the newer: this one's object is there.
      bb.push(6, 1, T0.plusMinutes(2), updated("refs/heads/main", b, a));
      assertThat(bb.check("latest-pushes-present").ok()).isTrue();
    }
  }

  /** A ref the newest push deleted (change_type 2, forty zeros) is not looked for; its other refs are. */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "h2"})
  void refsTheNewestPushDeletedAreNotRequired(String kind) throws Exception {
    try (Bitbucket bb = new Bitbucket(kind, Version.V8, tmp.resolve("home"))) {
      Path one = bb.repository(1);
      Path two = bb.repository(2);
      bb.row(1).row(2);
      String a = commit(one, "a", "refs/heads/main");
      String b = commit(two, "b", "refs/heads/main");
      bb.push(1, 1, T0, new Bitbucket.Ref("refs/heads/gone", 2, ABSENT, ZEROS), updated("refs/heads/main", ZEROS, a));
      bb.push(2, 2, T0, added("refs/heads/main", b));
      bb.push(3, 2, T0.plusSeconds(1), new Bitbucket.Ref("refs/heads/topic", 2, ABSENT, ZEROS));

      Check c = bb.check("latest-pushes-present");
      assertThat(c.ok()).as(c.detail()).isTrue();
      assertThat(c.detail()).isEqualTo("newest recorded push of 1 repositories: 1 refs, each object present"
          + " (of the repositories here, 1 whose newest push only deleted refs)");
    }
  }

  /**
   * A branch pushed, then merged by squash and deleted in the UI (no push row), then pruned by git gc: its push
   * stays the repository's newest and names an object that is gone, honestly. Gone with its ref, and pushed more
   * than git's two-week prune window before the newest push of the database, it is counted, not failed. Missing
   * while its ref is still there, or from a push within the window (a database ahead of its repositories), it
   * fails.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "h2"})
  void aBranchDeletedOutsideAPushAndPrunedLongAgoIsNotALostPush(String kind) throws Exception {
    try (Bitbucket bb = new Bitbucket(kind, Version.V8, tmp.resolve("home"))) {
      Path one = bb.repository(1);
      Path two = bb.repository(2);
      Path three = bb.repository(3);
      bb.row(1).row(2).row(3);
      String a = commit(one, "a", "refs/heads/main");
      String b = commit(two, "b", "refs/heads/main");
      String c = commit(three, "c", "refs/heads/main");
      bb.push(1, 1, T0, added("refs/heads/squashed", ABSENT));
      bb.push(2, 2, T0.plusDays(15), updated("refs/heads/main", ZEROS, b));
      bb.push(3, 3, T0.plusDays(15), updated("refs/heads/main", ZEROS, c));

      Check counted = bb.check("latest-pushes-present");
      assertThat(counted.ok()).as(counted.detail()).isTrue();
      assertThat(counted.detail()).isEqualTo("newest recorded push of 3 repositories: 2 of 3 refs with their object"
          + " present; not failed: 1 objects of refs deleted since outside a push (in the UI, say) and pruned by"
          + " git gc, pushed over 14 days before the newest push: [1 refs/heads/squashed deadbeefdead]");

      // The ref is still there: its object is lost, whatever the push's age.
      git(one, "update-ref", "refs/heads/squashed", a);
      assertThat(bb.check("latest-pushes-present").ok()).isFalse();
      git(one, "update-ref", "-d", "refs/heads/squashed");

      // Within the window of the newest push: a push the repositories never got.
      bb.push(4, 3, T0.plusDays(2), added("refs/heads/new", ABSENT));
      bb.push(5, 3, T0.plusDays(16), added("refs/heads/new", ABSENT));
      Check lost = bb.check("latest-pushes-present");
      assertThat(lost.ok()).isFalse();
      assertThat(lost.detail()).startsWith("newest recorded push of 3 repositories: 1 of 3 objects missing: [3 refs/heads/new deadbeefdead];"
          + " not failed: 1 objects");
    }
  }

  /**
   * Rows whose Git storage is not expected in this home (not AVAILABLE, in a data store, on Mesh) need no
   * directory and are counted with the states seen; an AVAILABLE row without its directory fails, and so does a
   * directory without a row, whatever the other rows.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "h2"})
  void rowsStoredElsewhereNeedNoDirectoryButEveryDirectoryNeedsARow(String kind) throws Exception {
    try (Bitbucket bb = new Bitbucket(kind, Version.V8, tmp.resolve("home"))) {
      bb.repository(1);
      bb.repository(6);
      bb.row(1).row(2, 0, null, null).row(3, 2, null, null).row(4, 1, 7L, null).row(5, 1, null, 3L)
          .row(6, 2, null, null);
      Check c = bb.check("repositories-match");
      assertThat(c.ok()).as(c.detail()).isTrue();
      assertThat(c.detail()).isEqualTo("1 repositories in the database, each with its directory; not expected in this"
          + " home: 3 not AVAILABLE (state 0: 1, state 2: 2; 1 of them with a directory here), 1 in a data store,"
          + " 1 on Bitbucket Mesh");

      bb.repository(9);
      bb.row(7);
      c = bb.check("repositories-match");
      assertThat(c.ok()).isFalse();
      assertThat(c.detail()).startsWith("rows without a directory: [7] directories without a row: [9];");
    }
  }

  /**
   * Older schemas: 7.2 has no {@code partition_id}, 4.x neither {@code store_id} nor {@code ref_update_type}, and
   * zoned timestamps. The checks read what there is.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql:V4", "postgresql:V7", "mariadb:V7", "h2:V4"})
  void olderSchemasAreReadAsTheyAre(String spec) throws Exception {
    String[] p = spec.split(":");
    try (Bitbucket bb = new Bitbucket(p[0], Version.valueOf(p[1]), tmp.resolve("home"))) {
      Path repo = bb.repository(1);
      bb.row(1).row(2, 0, null, null);
      String a = commit(repo, "a", "refs/heads/main");
      bb.push(1, 1, T0, added("refs/heads/main", a));
      assertThat(bb.check()).allSatisfy(c -> assertThat(c.ok()).as(c.name() + ": " + c.detail()).isTrue());
      assertThat(bb.check("repositories-match").detail()).contains("1 not AVAILABLE (state 0: 1)");
      bb.push(2, 1, T0.plusHours(1), updated("refs/heads/main", a, ABSENT));
      assertThat(bb.check("latest-pushes-present").ok()).isFalse();
    }
  }

  /**
   * A fork reads its origin's objects through git alternates: the newest push to the fork may name an object that
   * only the origin holds, and it passes, within the home and in a copy of the home at another path whose forks
   * still name the old one (which no longer exists): the copy's own origin is read, and {@code git fsck} passes
   * there too.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "h2"})
  void aForkFindsItsOriginsObjectsThroughAlternates(String kind) throws Exception {
    Path first = tmp.resolve("first/home");
    Path origin;
    Path fork;
    String shared;
    try (Bitbucket bb = new Bitbucket(kind, Version.V8, first)) {
      origin = bb.repository(1);
      String a = commit(origin, "a", "refs/heads/main");
      fork = bb.dir(2);
      runner.run(Command.of("git", "clone", "-q", "--bare", "--shared", origin.toString(), fork.toString()));
      assertThat(Files.readString(fork.resolve("objects/info/alternates")).strip()).isEqualTo(origin.resolve("objects").toString());
      // A commit only the origin holds, which the fork's newest push names.
      shared = commit(origin, "shared", "refs/heads/shared");
      bb.row(1).row(2);
      bb.push(1, 1, T0, added("refs/heads/main", a));
      bb.push(2, 2, T0, added("refs/heads/from-origin", shared));
      git(fork, "update-ref", "refs/heads/from-origin", shared);
      Check c = bb.check("latest-pushes-present");
      assertThat(c.ok()).as(c.detail()).isTrue();
      assertThat(c.detail()).isEqualTo("newest recorded push of 2 repositories: 2 refs, each object present");
      assertThat(consistency.fsck(List.of(fork), 2, true).ok()).isTrue();

      // The home copied elsewhere, the original gone: the fork still names it.
      Path second = tmp.resolve("second/home");
      Files.createDirectories(second.getParent());
      runner.run(Command.of("cp", "-a", first.toString(), second.toString()));
      runner.run(Command.of("rm", "-rf", first.toString()));
      Path copiedFork = second.resolve("shared/data/repositories/2");
      assertThat(Files.readString(copiedFork.resolve("objects/info/alternates"))).contains(first.toString());
      List<Check> checks = consistency.database(bb.c, second, GitLocks.repositories(second));
      assertThat(checks).allSatisfy(x -> assertThat(x.ok()).as(x.name() + ": " + x.detail()).isTrue());
      assertThat(consistency.fsck(List.of(copiedFork), 2, true).ok()).as("the copy's origin is read").isTrue();
      assertThat(consistency.fullFsck(List.of(copiedFork), java.time.Duration.ofMinutes(5)).check().ok()).isTrue();
    }
  }

  /**
   * "pushes-present" reads the sandbox's own push_ledger, which a real Bitbucket does not have, and says so; every
   * row's commit must be there, looked up with one Git process per repository.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "h2"})
  void theSandboxsLedgerIsCheckedOnlyWhereItExists(String kind) throws Exception {
    try (Bitbucket bb = new Bitbucket(kind, Version.V8, tmp.resolve("home"))) {
      Path repo = bb.repository(1);
      bb.row(1);
      String a = commit(repo, "a", "refs/heads/main");
      assertThat(bb.check()).extracting(Check::name).doesNotContain("pushes-present");
      try (Statement s = bb.c.createStatement()) {
        s.execute("CREATE TABLE push_ledger (id INTEGER PRIMARY KEY, repository_id INTEGER NOT NULL, new_sha CHAR(40) NOT NULL)");
        s.execute("INSERT INTO push_ledger VALUES (1, 1, '" + a + "')");
      }
      assertThat(bb.check("pushes-present")).isEqualTo(
          new Check("pushes-present", true, "1 pushes in the sandbox's push_ledger, each with its commit"));
      // A push that deleted a ref records forty zeros: nothing to look for.
      try (Statement s = bb.c.createStatement()) {
        s.execute("INSERT INTO push_ledger VALUES (4, 1, '" + ZEROS + "')");
      }
      assertThat(bb.check("pushes-present")).isEqualTo(new Check(
          "pushes-present", true, "2 pushes in the sandbox's push_ledger, each with its commit (1 of them deleted a ref)"));
      try (Statement s = bb.c.createStatement()) {
        s.execute("INSERT INTO push_ledger VALUES (2, 1, '" + ABSENT + "'), (3, 4, '" + a + "')");
      }
      assertThat(bb.check("pushes-present").detail())
          .isEqualTo("2 of 4 pushes in the sandbox's push_ledger lack their commit: [1:deadbeefdead, 4:" + a.substring(0, 12) + "]");
    }
  }

  /**
   * A table the checks' statements would not see (in a PostgreSQL schema off the search path) is not taken for
   * one they would: the check it belongs to does not run, rather than failing on a table it cannot query.
   */
  @org.junit.jupiter.api.Test
  void tablesTheQueriesWouldNotSeeAreNotCounted() throws Exception {
    try (Bitbucket bb = new Bitbucket("postgresql", Version.V8, tmp.resolve("home"))) {
      bb.repository(1);
      bb.row(1);
      try (Statement s = bb.c.createStatement()) {
        s.execute("CREATE SCHEMA elsewhere");
        s.execute("CREATE TABLE elsewhere.push_ledger (id INTEGER PRIMARY KEY, repository_id INTEGER, new_sha CHAR(40))");
        s.execute("DROP TABLE sta_repo_push_ref");
        s.execute("CREATE TABLE elsewhere.sta_repo_push_ref (activity_id BIGINT)");
      }
      assertThat(bb.check()).extracting(Check::name).containsExactly("repositories-match");
      assertThat(bb.check()).allSatisfy(c -> assertThat(c.ok()).isTrue());
    }
  }
}
