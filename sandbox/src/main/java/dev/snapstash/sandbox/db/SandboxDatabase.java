package dev.snapstash.sandbox.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.sandbox.DbKind;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The sandbox's tables, identical on H2, PostgreSQL and MariaDB. Every transaction goes through {@link
 * #inTransaction} so the maintenance lock can see it in flight.
 *
 * <p>Thread-safe (a connection pool underneath).
 */
public final class SandboxDatabase implements AutoCloseable {

  /** Sees every transaction begin and end; the maintenance drain counts them. */
  public interface TxTracker {
    void begin();

    void end();

    TxTracker NONE =
        new TxTracker() {
          @Override
          public void begin() {}

          @Override
          public void end() {}
        };
  }

  @FunctionalInterface
  public interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  public record Project(long id, String key, String name) {}

  public record Repository(long id, long projectId, String projectKey, String slug, String name) {
    public String path() {
      return projectKey + "/" + slug;
    }
  }

  public record LedgerRow(long repositoryId, String ref, String oldSha, String newSha, Instant pushedAt) {}

  public record User(String name, String displayName, String email, String credential, boolean sysadmin) {}

  public record Page<T>(List<T> values, int start, int limit, boolean isLastPage) {}

  private final DbKind kind;
  private final HikariDataSource pool;
  private volatile TxTracker tracker = TxTracker.NONE;

  private SandboxDatabase(DbKind kind, HikariDataSource pool) {
    this.kind = kind;
    this.pool = pool;
  }

  /**
   * Connects, failing with one sentence: UNREACHABLE (naming {@code --jdbc-url}) when the server does not answer,
   * AUTHENTICATION (naming the password option) when it refuses the credentials.
   */
  public static SandboxDatabase open(DbKind kind, String url, String user, String password, String passwordOption) {
    probe(kind, url, user, password, passwordOption);
    HikariConfig cfg = new HikariConfig();
    cfg.setJdbcUrl(url);
    cfg.setUsername(user);
    cfg.setPassword(password);
    cfg.setDriverClassName(kind.driver());
    cfg.setMaximumPoolSize(8);
    cfg.setMinimumIdle(1);
    cfg.setConnectionTimeout(10_000);
    cfg.setPoolName("sandbox-db");
    cfg.setAutoCommit(true);
    try {
      return new SandboxDatabase(kind, new HikariDataSource(cfg));
    } catch (RuntimeException e) {
      throw new SnapstashException(
          ErrorKind.UNREACHABLE, "cannot open the database at " + url + ": check --jdbc-url (" + e.getMessage() + ")", e);
    }
  }

  private static void probe(DbKind kind, String url, String user, String password, String passwordOption) {
    try {
      Class.forName(kind.driver());
    } catch (ClassNotFoundException e) {
      throw SnapstashException.internal("JDBC driver " + kind.driver() + " is missing from the build", e);
    }
    DriverManager.setLoginTimeout(10);
    try (Connection c = DriverManager.getConnection(url, user, password)) {
      c.isValid(5);
    } catch (SQLException e) {
      String state = e.getSQLState() == null ? "" : e.getSQLState();
      if (state.startsWith("28") || e.getErrorCode() == 1045) {
        throw new SnapstashException(
            ErrorKind.AUTHENTICATION,
            "the database at " + url + " refused user '" + user + "' and its password: check --db-user and "
                + passwordOption,
            e);
      }
      throw new SnapstashException(
          ErrorKind.UNREACHABLE,
          "cannot reach the database at " + url + " (" + firstLine(e.getMessage()) + "): check --jdbc-url",
          e);
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "no detail";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  public DbKind kind() {
    return kind;
  }

  public void tracker(TxTracker t) {
    this.tracker = t;
  }

  public <T> T inTransaction(SqlWork<T> work) {
    tracker.begin();
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        T result = work.run(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw new SnapstashException(ErrorKind.UNREACHABLE, "database error: " + firstLine(e.getMessage()), e);
    } finally {
      tracker.end();
    }
  }

  // ---------------------------------------------------------------------------------------------- schema and seed

  private String identity() {
    return kind == DbKind.MARIADB
        ? "BIGINT AUTO_INCREMENT PRIMARY KEY"
        : "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
  }

  /**
   * Bitbucket's {@code timestamp without time zone}, holding UTC. MariaDB's TIMESTAMP would convert from the
   * session's time zone and update itself on every row change; DATETIME stores what it is given.
   */
  /** An upper-case identifier as Bitbucket's plugin tables are named: quoted, in the server's own way. */
  private String q(String identifier) {
    return kind == DbKind.MARIADB ? "`" + identifier + "`" : "\"" + identifier + "\"";
  }

  private String timestamp() {
    return kind == DbKind.MARIADB ? "DATETIME(3)" : "TIMESTAMP(3)";
  }

  /** {@code Repository.State.AVAILABLE}'s likely number (see the schema notes); every sandbox repository is. */
  public static final int AVAILABLE = 1;

  /**
   * {@code sta_activity.activity_type} of a push. Bitbucket's discriminator values are not public; nothing in
   * snapstash reads this column (a push is found through its {@code sta_repo_push_ref} rows, as Bitbucket's own
   * support queries find it).
   */
  static final int PUSH_ACTIVITY_TYPE = 3;

  /** {@code sta_repo_push_ref.change_type}: 1 a new ref, 2 a deleted one (to forty zeros), 3 an updated one. */
  static final int REF_ADDED = 1;
  static final int REF_DELETED = 2;
  static final int REF_UPDATED = 3;

  private static final String ZEROS = "0000000000000000000000000000000000000000";

  /**
   * The user a push is recorded for. The ledger row does not say who pushed; the load generator and the tests
   * push as the administrator, user 1.
   */
  private static final int PUSHER = 1;

  /** The columns {@code repository} gained when the sandbox started recording what Bitbucket's check reads. */
  private static final List<String[]> REPOSITORY_COLUMNS =
      List.of(
          new String[] {"state", "INTEGER DEFAULT " + AVAILABLE + " NOT NULL"},
          new String[] {"scm_id", "VARCHAR(255) DEFAULT 'git' NOT NULL"},
          new String[] {"hierarchy_id", "VARCHAR(20) DEFAULT '' NOT NULL"},
          new String[] {"is_forkable", "BOOLEAN DEFAULT TRUE NOT NULL"},
          new String[] {"is_public", "BOOLEAN DEFAULT FALSE NOT NULL"},
          new String[] {"store_id", "BIGINT"},
          new String[] {"partition_id", "INTEGER"});

  /**
   * Creates the tables if missing; safe on every start. A home made by an older sandbox, whose {@code repository}
   * lacks the columns added since, gets them (its repositories are AVAILABLE, local, with a hierarchy id of
   * their own); its pushes so far stay in {@code push_ledger} only, so Bitbucket's push tables start empty there.
   */
  public void createSchema() {
    String v = "VARCHAR(255)";
    List<String> ddl =
        List.of(
            "CREATE TABLE IF NOT EXISTS project (id BIGINT PRIMARY KEY, project_key " + v
                + " NOT NULL UNIQUE, name " + v + " NOT NULL)",
            // Bitbucket's columns (state, scm_id, hierarchy_id, is_forkable, is_public, store_id, partition_id) with
            // its types; store_id and partition_id stay NULL: every sandbox repository lives in the home.
            "CREATE TABLE IF NOT EXISTS repository (id BIGINT PRIMARY KEY, project_id BIGINT NOT NULL"
                + " REFERENCES project(id), slug " + v + " NOT NULL, name " + v + " NOT NULL,"
                + " state INTEGER NOT NULL, scm_id VARCHAR(255) NOT NULL, hierarchy_id VARCHAR(20) NOT NULL,"
                + " is_forkable BOOLEAN NOT NULL, is_public BOOLEAN NOT NULL, store_id BIGINT, partition_id INTEGER,"
                + " UNIQUE (project_id, slug))",
            // The sandbox's own proof table (tests and the load generator's proofs read it); a real Bitbucket has
            // none, and records pushes in the sta_ tables below.
            "CREATE TABLE IF NOT EXISTS push_ledger (id " + identity() + ", repository_id BIGINT NOT NULL"
                + " REFERENCES repository(id), ref_name VARCHAR(1024) NOT NULL, old_sha CHAR(40) NOT NULL,"
                + " new_sha CHAR(40) NOT NULL, pushed_at TIMESTAMP(3) NOT NULL)",
            // A push as Bitbucket records it: an activity (when, by whom), the repository it happened in, the push
            // itself, and one row per ref it changed. Bitbucket allocates ids from its own id_sequence table; an
            // identity column gives the same kind of number.
            "CREATE TABLE IF NOT EXISTS sta_activity (id " + identity() + ", activity_type INTEGER NOT NULL,"
                + " created_timestamp " + timestamp() + " NOT NULL, user_id INTEGER NOT NULL)",
            // repository_id is Bitbucket's integer, so it cannot reference the sandbox's BIGINT repository.id on
            // MariaDB; the sandbox never deletes a repository, so nothing is left dangling.
            "CREATE TABLE IF NOT EXISTS sta_repo_activity (activity_id BIGINT PRIMARY KEY REFERENCES"
                + " sta_activity(id), repository_id INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS sta_repo_push_activity (activity_id BIGINT PRIMARY KEY REFERENCES"
                + " sta_repo_activity(activity_id), trigger_id VARCHAR(64) NOT NULL)",
            "CREATE TABLE IF NOT EXISTS sta_repo_push_ref (activity_id BIGINT NOT NULL REFERENCES"
                + " sta_repo_push_activity(activity_id), ref_id VARCHAR(1024) NOT NULL, change_type INTEGER NOT NULL,"
                + " from_hash VARCHAR(40) NOT NULL, to_hash VARCHAR(40) NOT NULL, ref_update_type INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS idx_sta_repo_activity_repo ON sta_repo_activity (repository_id)",
            "CREATE INDEX IF NOT EXISTS idx_sta_repo_push_ref_activity ON sta_repo_push_ref (activity_id)",
            "CREATE TABLE IF NOT EXISTS plugin_setting (id " + identity() + ", namespace " + v + " NOT NULL,"
                + " key_name " + v + " NOT NULL, key_value VARCHAR(4000) NOT NULL)",
            "CREATE TABLE IF NOT EXISTS app_property (prop_key " + v + " PRIMARY KEY, prop_value VARCHAR(4000)"
                + " NOT NULL)",
            "CREATE TABLE IF NOT EXISTS app_user (id BIGINT PRIMARY KEY, user_name " + v + " NOT NULL UNIQUE,"
                + " display_name " + v + " NOT NULL, email_address " + v + " NOT NULL, credential " + v
                + " NOT NULL, sysadmin BOOLEAN NOT NULL)",
            // Integrations a staging refresh must neutralise, where Bitbucket keeps them (see the schema notes):
            // built-in webhooks (5.4+), repository and project hooks, and the Slack plugin's links and users. The
            // Slack tables' six-hex prefix is a hash Atlassian does not publish; this one is the sandbox's own.
            "CREATE TABLE IF NOT EXISTS " + q("AO_A0B856_WEBHOOK") + " (" + q("ID") + " INTEGER PRIMARY KEY, "
                + q("NAME") + " " + v + " NOT NULL, " + q("URL") + " VARCHAR(4000) NOT NULL, " + q("ACTIVE")
                + " BOOLEAN, " + q("SCOPE_TYPE") + " " + v + ", " + q("SCOPE_ID") + " " + v + ", " + q("CREATED")
                + " " + timestamp() + ", " + q("UPDATED") + " " + timestamp() + ")",
            "CREATE TABLE IF NOT EXISTS sta_repo_hook (id INTEGER PRIMARY KEY, repository_id INTEGER, hook_key " + v
                + " NOT NULL, is_enabled BOOLEAN NOT NULL, lob_id INTEGER, project_id INTEGER)",
            "CREATE TABLE IF NOT EXISTS " + q("AO_5A4C1B_AOSLACK_LINK") + " (" + q("ID") + " INTEGER PRIMARY KEY, "
                + q("TEAM_ID") + " " + v + " NOT NULL, " + q("TEAM_NAME") + " " + v + ", " + q("CLIENT_SECRET") + " "
                + v + ", " + q("SIGNING_SECRET") + " " + v + ", " + q("ACCESS_TOKEN") + " " + v + ", "
                + q("BOT_ACCESS_TOKEN") + " " + v + ")",
            "CREATE TABLE IF NOT EXISTS " + q("AO_5A4C1B_AOSLACK_USER") + " (" + q("ID") + " INTEGER PRIMARY KEY, "
                + q("SLACK_USER_ID") + " " + v + " NOT NULL, " + q("SLACK_TEAM_ID") + " " + v + " NOT NULL, "
                + q("USER_KEY") + " " + v + ", " + q("USER_TOKEN") + " " + v + ")");
    inTransaction(
        c -> {
          try (Statement s = c.createStatement()) {
            for (String sql : ddl) {
              s.execute(sql);
            }
          }
          return null;
        });
    upgradeRepositoryTable();
  }

  /**
   * Adds the columns an older sandbox's {@code repository} lacks. Only those: an {@code ALTER TABLE} that changes
   * nothing would still wait for, and then block, every reader (a {@code pg_dump} in progress, say).
   */
  private void upgradeRepositoryTable() {
    inTransaction(
        c -> {
          java.util.Set<String> have = new java.util.HashSet<>();
          java.sql.DatabaseMetaData md = c.getMetaData();
          for (String table : List.of("repository", "REPOSITORY")) {
            try (ResultSet rs = md.getColumns(c.getCatalog(), kind == DbKind.MARIADB ? null : c.getSchema(), table, null)) {
              while (rs.next()) {
                have.add(rs.getString("COLUMN_NAME").toLowerCase(java.util.Locale.ROOT));
              }
            }
          }
          List<Long> ids = new ArrayList<>();
          try (Statement s = c.createStatement()) {
            for (String[] col : REPOSITORY_COLUMNS) {
              if (!have.contains(col[0])) {
                s.execute("ALTER TABLE repository ADD COLUMN " + col[0] + " " + col[1]);
              }
            }
            try (ResultSet rs = s.executeQuery("SELECT id FROM repository WHERE hierarchy_id = ''")) {
              while (rs.next()) {
                ids.add(rs.getLong(1));
              }
            }
          }
          try (PreparedStatement ps = c.prepareStatement("UPDATE repository SET hierarchy_id = ? WHERE id = ?")) {
            for (long id : ids) {
              ps.setString(1, hierarchyId(id));
              ps.setLong(2, id);
              ps.addBatch();
            }
            if (!ids.isEmpty()) {
              ps.executeBatch();
            }
          }
          return null;
        });
  }

  /**
   * A repository's {@code hierarchy_id}: twenty hex digits, shared by a repository and its forks (the sandbox has
   * no forks, so each has its own). Derived from the id, so a generated home is the same every time.
   */
  static String hierarchyId(long repositoryId) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(repositoryId * 0x9E3779B97F4A7C15L);
    return String.format("%016x%04x", r.nextLong(), r.nextInt(0x10000));
  }

  /** True once the first start has seeded the instance (restarts keep everything). */
  public boolean isSeeded() {
    return appProperty("server.id").isPresent();
  }

  /** The rows a staging refresh must later find and neutralise, as a production instance would have them. */
  public void seed(String baseUrl) {
    String serverId = serverId();
    String applink = UUID.randomUUID().toString();
    inTransaction(
        c -> {
          String[][] props = {
            {"instance.url", baseUrl},
            {"server.id", serverId},
            {"license", "AAABfake0NQ0ODAoJC0sandbox-not-a-real-licence-" + serverId + "-0x02kd"},
            {"mail.server.host", "smtp.corp.example.com"},
            {"mail.server.port", "587"},
            {"mail.server.protocol", "SMTP"},
            {"mail.server.use-start-tls", "true"},
            {"mail.server.username", "bitbucket"},
            {"mail.server.sender", "bitbucket@corp.example.com"},
            {"display.name", "Bitbucket (sandbox)"},
          };
          try (PreparedStatement ps =
              c.prepareStatement("INSERT INTO app_property (prop_key, prop_value) VALUES (?, ?)")) {
            for (String[] p : props) {
              ps.setString(1, p[0]);
              ps.setString(2, p[1]);
              ps.addBatch();
            }
            ps.executeBatch();
          }
          String[][] settings = {
            {"", "acnct.bitbucket.mirror.farm.1.url", "https://mirror1.corp.example.com"},
            {"", "acnct.bitbucket.mirror.farm.1.shared-secret", Long.toHexString(System.nanoTime())},
            {"", "acnct.bitbucket.mirror.settings", "{\"mode\":\"mirror-farm\",\"nodes\":2}"},
            {"", "ac.addon.list", "#java.util.List\ncom.atlassian.bitbucket.server.bitbucket-mirror-ac-addon"},
            {"", "applinks.admin." + applink + ".url", "https://jira.corp.example.com"},
            {"", "applinks.admin." + applink + ".name", "Jira"},
            {"", "applinks.admin." + applink + ".type", "applinks.jira"},
            {"", "applinks.global.application.ids", "#java.util.List\n" + applink},
            {"", "com.atlassian.webhooks.configuration.1.url", "https://ci.corp.example.com/hook"},
            {"", "com.atlassian.webhooks.configuration.1.events", "repo:refs_changed"},
            {"", "com.atlassian.bitbucket.plugins.slack.workspace.T0SANDBOX.token",
                "xoxb-0000-sandbox-" + Long.toHexString(System.nanoTime())},
          };
          try (Statement st = c.createStatement()) {
            String now = "CURRENT_TIMESTAMP";
            st.executeUpdate("INSERT INTO " + q("AO_A0B856_WEBHOOK") + " (" + q("ID") + ", " + q("NAME") + ", " + q("URL")
                + ", " + q("ACTIVE") + ", " + q("SCOPE_TYPE") + ", " + q("SCOPE_ID") + ", " + q("CREATED") + ", "
                + q("UPDATED") + ") VALUES (1, 'jenkins', 'https://ci.corp.example.com/bitbucket-hook', TRUE,"
                + " 'GLOBAL', NULL, " + now + ", " + now + "), (2, 'chat bot', 'https://bot.corp.example.com/events',"
                + " TRUE, 'PROJECT', '1', " + now + ", " + now + ")");
            st.executeUpdate("INSERT INTO sta_repo_hook (id, repository_id, hook_key, is_enabled, lob_id, project_id)"
                + " VALUES (1, 1, 'com.nerdwin15.stash-stash-webhook-jenkins:jenkinsPostReceiveHook', TRUE, NULL,"
                + " NULL), (2, NULL, 'com.atlassian.bitbucket.server.bitbucket-bundled-hooks:force-push-hook', TRUE,"
                + " NULL, 1)");
            st.executeUpdate("INSERT INTO " + q("AO_5A4C1B_AOSLACK_LINK") + " (" + q("ID") + ", " + q("TEAM_ID") + ", "
                + q("TEAM_NAME") + ", " + q("CLIENT_SECRET") + ", " + q("SIGNING_SECRET") + ", " + q("ACCESS_TOKEN")
                + ", " + q("BOT_ACCESS_TOKEN") + ") VALUES (1, 'T0SANDBOX', 'corp', 'sandbox-client-secret',"
                + " 'sandbox-signing-secret', 'xoxp-0000-sandbox', 'xoxb-0000-sandbox')");
            st.executeUpdate("INSERT INTO " + q("AO_5A4C1B_AOSLACK_USER") + " (" + q("ID") + ", " + q("SLACK_USER_ID")
                + ", " + q("SLACK_TEAM_ID") + ", " + q("USER_KEY") + ", " + q("USER_TOKEN") + ") VALUES (1, 'U0ADMIN',"
                + " 'T0SANDBOX', '1', 'xoxp-0001-sandbox')");
          }
          try (PreparedStatement ps =
              c.prepareStatement("INSERT INTO plugin_setting (namespace, key_name, key_value) VALUES (?, ?, ?)")) {
            for (String[] s : settings) {
              ps.setString(1, s[0]);
              ps.setString(2, s[1]);
              ps.setString(3, s[2]);
              ps.addBatch();
            }
            ps.executeBatch();
          }
          return null;
        });
  }

  private static String serverId() {
    String hex = UUID.randomUUID().toString().replace("-", "").toUpperCase(java.util.Locale.ROOT);
    return "B" + hex.substring(0, 3) + "-" + hex.substring(3, 7) + "-" + hex.substring(7, 11) + "-"
        + hex.substring(11, 15);
  }

  /** Creates or updates the user, so a changed {@code --admin-password-file} takes effect on restart. */
  public void upsertUser(long id, String name, String displayName, String password, boolean sysadmin) {
    String credential = PasswordHash.hash(password);
    inTransaction(
        c -> {
          int n;
          try (PreparedStatement ps =
              c.prepareStatement("UPDATE app_user SET credential = ?, sysadmin = ? WHERE user_name = ?")) {
            ps.setString(1, credential);
            ps.setBoolean(2, sysadmin);
            ps.setString(3, name);
            n = ps.executeUpdate();
          }
          if (n == 0) {
            try (PreparedStatement ps =
                c.prepareStatement(
                    "INSERT INTO app_user (id, user_name, display_name, email_address, credential, sysadmin)"
                        + " VALUES (?, ?, ?, ?, ?, ?)")) {
              ps.setLong(1, id);
              ps.setString(2, name);
              ps.setString(3, displayName);
              ps.setString(4, name + "@corp.example.com");
              ps.setString(5, credential);
              ps.setBoolean(6, sysadmin);
              ps.executeUpdate();
            }
          }
          return null;
        });
  }

  public List<User> users() {
    return inTransaction(
        c -> {
          List<User> out = new ArrayList<>();
          try (Statement s = c.createStatement();
              ResultSet rs =
                  s.executeQuery(
                      "SELECT user_name, display_name, email_address, credential, sysadmin FROM app_user")) {
            while (rs.next()) {
              out.add(new User(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getBoolean(5)));
            }
          }
          return out;
        });
  }

  public void insertProject(Project p) {
    inTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("INSERT INTO project (id, project_key, name) VALUES (?, ?, ?)")) {
            ps.setLong(1, p.id());
            ps.setString(2, p.key());
            ps.setString(3, p.name());
            ps.executeUpdate();
          }
          return null;
        });
  }

  public void insertRepository(Repository r) {
    inTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO repository (id, project_id, slug, name, state, scm_id, hierarchy_id, is_forkable,"
                      + " is_public, store_id, partition_id) VALUES (?, ?, ?, ?, ?, 'git', ?, TRUE, FALSE, NULL, NULL)")) {
            ps.setLong(1, r.id());
            ps.setLong(2, r.projectId());
            ps.setString(3, r.slug());
            ps.setString(4, r.name());
            ps.setInt(5, AVAILABLE);
            ps.setString(6, hierarchyId(r.id()));
            ps.executeUpdate();
          }
          return null;
        });
  }

  public Optional<String> appProperty(String key) {
    return inTransaction(
        c -> {
          try (PreparedStatement ps = c.prepareStatement("SELECT prop_value FROM app_property WHERE prop_key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
            }
          }
        });
  }

  /** Every {@code app_property} whose key starts with {@code prefix}, by key. */
  public java.util.SortedMap<String, String> appProperties(String prefix) {
    return keyValues("SELECT prop_key, prop_value FROM app_property WHERE prop_key LIKE ?", prefix);
  }

  /** Every {@code plugin_setting} whose key starts with {@code prefix}, by key. */
  public java.util.SortedMap<String, String> pluginSettings(String prefix) {
    return keyValues("SELECT key_name, key_value FROM plugin_setting WHERE key_name LIKE ?", prefix);
  }

  private java.util.SortedMap<String, String> keyValues(String sql, String prefix) {
    return inTransaction(
        c -> {
          java.util.SortedMap<String, String> out = new java.util.TreeMap<>();
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, prefix.replace("_", "\\_").replace("%", "\\%") + "%");
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
              }
            }
          }
          return out;
        });
  }

  public Page<Project> projects(int start, int limit) {
    return inTransaction(
        c -> {
          List<Project> out = new ArrayList<>();
          try (PreparedStatement ps =
              c.prepareStatement("SELECT id, project_key, name FROM project ORDER BY project_key LIMIT ? OFFSET ?")) {
            ps.setInt(1, limit + 1);
            ps.setInt(2, start);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                out.add(new Project(rs.getLong(1), rs.getString(2), rs.getString(3)));
              }
            }
          }
          return page(out, start, limit);
        });
  }

  public Optional<Project> project(String key) {
    return inTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("SELECT id, project_key, name FROM project WHERE UPPER(project_key) = UPPER(?)")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next()
                  ? Optional.of(new Project(rs.getLong(1), rs.getString(2), rs.getString(3)))
                  : Optional.<Project>empty();
            }
          }
        });
  }

  private static final String REPO_SELECT =
      "SELECT r.id, r.project_id, p.project_key, r.slug, r.name FROM repository r JOIN project p ON p.id ="
          + " r.project_id";

  public Page<Repository> repositories(String projectKey, int start, int limit) {
    return inTransaction(
        c -> {
          List<Repository> out = new ArrayList<>();
          try (PreparedStatement ps =
              c.prepareStatement(
                  REPO_SELECT + " WHERE UPPER(p.project_key) = UPPER(?) ORDER BY r.slug LIMIT ? OFFSET ?")) {
            ps.setString(1, projectKey);
            ps.setInt(2, limit + 1);
            ps.setInt(3, start);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                out.add(repo(rs));
              }
            }
          }
          return page(out, start, limit);
        });
  }

  public List<Repository> allRepositories() {
    return inTransaction(
        c -> {
          List<Repository> out = new ArrayList<>();
          try (Statement s = c.createStatement();
              ResultSet rs = s.executeQuery(REPO_SELECT + " ORDER BY r.id")) {
            while (rs.next()) {
              out.add(repo(rs));
            }
          }
          return out;
        });
  }

  public Optional<Repository> repository(String projectKey, String slug) {
    return inTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(REPO_SELECT + " WHERE UPPER(p.project_key) = UPPER(?) AND r.slug = ?")) {
            ps.setString(1, projectKey);
            ps.setString(2, slug);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(repo(rs)) : Optional.<Repository>empty();
            }
          }
        });
  }

  private static Repository repo(ResultSet rs) throws SQLException {
    return new Repository(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5));
  }

  private static <T> Page<T> page(List<T> rows, int start, int limit) {
    boolean last = rows.size() <= limit;
    return new Page<>(last ? rows : rows.subList(0, limit), start, limit, last);
  }

  /**
   * Records ref updates that are on disk, all or none: in the sandbox's {@code push_ledger}, and as Bitbucket
   * records a push (see {@link #recordPushes}).
   */
  public void insertLedger(List<LedgerRow> rows) {
    inTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO push_ledger (repository_id, ref_name, old_sha, new_sha, pushed_at)"
                      + " VALUES (?, ?, ?, ?, ?)")) {
            for (LedgerRow r : rows) {
              ps.setLong(1, r.repositoryId());
              ps.setString(2, r.ref());
              ps.setString(3, r.oldSha());
              ps.setString(4, r.newSha());
              ps.setTimestamp(5, utc(r.pushedAt()));
              ps.addBatch();
            }
            ps.executeBatch();
          }
          recordPushes(c, rows);
          return null;
        });
  }

  /**
   * Records ref updates as Bitbucket records a push, and only there (not in {@code push_ledger}): the first
   * content of a generated repository, which Bitbucket would have received as a push.
   */
  public void recordPushes(List<LedgerRow> rows) {
    inTransaction(
        c -> {
          recordPushes(c, rows);
          return null;
        });
  }

  /**
   * One push per repository and time among {@code rows}: an {@code sta_activity} row ({@code created_timestamp}
   * in UTC), its {@code sta_repo_activity} and {@code sta_repo_push_activity} rows, and an {@code
   * sta_repo_push_ref} row per ref with its {@code change_type} (a ref from forty zeros is new, to forty zeros
   * deleted). {@code trigger_id} and {@code ref_update_type} hold values whose real meaning is not public.
   */
  private void recordPushes(Connection c, List<LedgerRow> rows) throws SQLException {
    java.util.Map<List<Object>, List<LedgerRow>> pushes = new java.util.LinkedHashMap<>();
    for (LedgerRow r : rows) {
      pushes.computeIfAbsent(List.of(r.repositoryId(), r.pushedAt()), k -> new ArrayList<>()).add(r);
    }
    for (List<LedgerRow> push : pushes.values()) {
      LedgerRow first = push.get(0);
      long activity;
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO sta_activity (activity_type, created_timestamp, user_id) VALUES (?, ?, ?)",
              Statement.RETURN_GENERATED_KEYS)) {
        ps.setInt(1, PUSH_ACTIVITY_TYPE);
        ps.setTimestamp(2, utc(first.pushedAt()));
        ps.setInt(3, PUSHER);
        ps.executeUpdate();
        try (ResultSet keys = ps.getGeneratedKeys()) {
          if (!keys.next()) {
            throw new SQLException("the database returned no id for the new sta_activity row");
          }
          activity = keys.getLong(1);
        }
      }
      try (PreparedStatement ps =
          c.prepareStatement("INSERT INTO sta_repo_activity (activity_id, repository_id) VALUES (?, ?)")) {
        ps.setLong(1, activity);
        ps.setLong(2, first.repositoryId());
        ps.executeUpdate();
      }
      try (PreparedStatement ps =
          c.prepareStatement("INSERT INTO sta_repo_push_activity (activity_id, trigger_id) VALUES (?, 'push')")) {
        ps.setLong(1, activity);
        ps.executeUpdate();
      }
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO sta_repo_push_ref (activity_id, ref_id, change_type, from_hash, to_hash, ref_update_type)"
                  + " VALUES (?, ?, ?, ?, ?, 0)")) {
        for (LedgerRow r : push) {
          ps.setLong(1, activity);
          ps.setString(2, r.ref());
          ps.setInt(3, ZEROS.equals(r.oldSha()) ? REF_ADDED : ZEROS.equals(r.newSha()) ? REF_DELETED : REF_UPDATED);
          ps.setString(4, r.oldSha());
          ps.setString(5, r.newSha());
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
  }

  private static Timestamp utc(Instant t) {
    return Timestamp.valueOf(LocalDateTime.ofInstant(t, ZoneOffset.UTC));
  }

  public List<LedgerRow> ledger() {
    return inTransaction(
        c -> {
          List<LedgerRow> out = new ArrayList<>();
          try (Statement s = c.createStatement();
              ResultSet rs =
                  s.executeQuery(
                      "SELECT repository_id, ref_name, old_sha, new_sha, pushed_at FROM push_ledger ORDER BY id")) {
            while (rs.next()) {
              out.add(
                  new LedgerRow(
                      rs.getLong(1),
                      rs.getString(2),
                      rs.getString(3),
                      rs.getString(4),
                      rs.getTimestamp(5).toLocalDateTime().toInstant(ZoneOffset.UTC)));
            }
          }
          return out;
        });
  }

  @Override
  public void close() {
    pool.close();
  }
}
