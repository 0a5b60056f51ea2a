package dev.snapstash.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.db.SandboxDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The database-facing behaviour on every database kind: schema and seed, a push recorded in the ledger, a restart
 * that reuses everything, and the start errors (unreachable server, wrong password).
 */
class DatabaseKindsTest {
  @RegisterExtension static final DatabaseServers servers = new DatabaseServers();
  @TempDir Path tmp;

  @ParameterizedTest
  @EnumSource(DbKind.class)
  void seedPushRestartAndErrors(DbKind kind) throws Exception {
    Tools.requireGit();
    Path dir = tmp.resolve("sb");
    SandboxOptions o = servers.on(kind, SandboxOptions.defaults(dir).withPort(0)
        .withProxyName("bitbucket.corp.example.com"));
    String url;
    try (RunningSandbox sb = RunningSandbox.start(o, new ProcessRunner())) {
      url = sb.state().jdbcUrl();
      assertThat(sb.database().appProperty("instance.url")).contains("https://bitbucket.corp.example.com");
      assertThat(sb.database().appProperty("mail.server.host")).contains("smtp.corp.example.com");
      assertThat(sb.database().appProperty("license")).isPresent();
      assertThat(sb.database().allRepositories()).hasSize(3);
      String props = Files.readString(sb.layout().properties());
      assertThat(props).contains("jdbc.url=" + url).contains("jdbc.driver=" + kind.driver())
          .contains("server.proxy-name=bitbucket.corp.example.com").contains("server.proxy-port=443")
          .contains("server.scheme=https").contains("server.secure=true");
      String yml = Files.readString(sb.layout().config());
      assertThat(yml).contains("type: " + kind.configType());
      // Another process (the backup tool) can read the tables while the sandbox runs.
      List<String> keys = new ArrayList<>();
      try (Connection c = DriverManager.getConnection(url, sb.state().dbUser(),
              Secrets.read(Path.of(sb.state().dbPasswordFile()), "x"));
          ResultSet rs = c.createStatement().executeQuery("SELECT key_name FROM plugin_setting")) {
        while (rs.next()) {
          keys.add(rs.getString(1));
        }
      }
      assertThat(keys).anyMatch(k -> k.startsWith("acnct.bitbucket.mirror.")).contains("ac.addon.list")
          .anyMatch(k -> k.startsWith("applinks.admin.")).anyMatch(k -> k.startsWith("com.atlassian.webhooks"))
          .anyMatch(k -> k.contains("slack") && k.endsWith("token"));

      GitClient git = new GitClient("user", sb.userPassword());
      Path work = tmp.resolve("work");
      git.run(tmp, "clone", "-q", sb.baseUrl() + "/scm/PRJ/repo-3.git", work.toString());
      Files.writeString(work.resolve("f.txt"), kind.name());
      git.run(work, "add", "f.txt");
      git.run(work, "commit", "-q", "-m", "on " + kind);
      git.run(work, "push", "-q", "origin", "HEAD:refs/heads/kind");
      assertThat(sb.database().ledger()).extracting(SandboxDatabase.LedgerRow::ref).contains("refs/heads/kind");
    }
    String password = Files.readString(dir.resolve("admin-password"));
    try (RunningSandbox sb = RunningSandbox.start(SandboxOptions.defaults(dir).withPort(0),
        new ProcessRunner())) {
      assertThat(sb.state().jdbcUrl()).isEqualTo(url);
      assertThat(sb.database().ledger()).extracting(SandboxDatabase.LedgerRow::ref).contains("refs/heads/kind");
      assertThat(sb.database().allRepositories()).hasSize(3);
      assertThat(Files.readString(dir.resolve("admin-password"))).isEqualTo(password);
    }

    Path wrong = tmp.resolve("wrong");
    Files.writeString(wrong, "definitely-wrong\n");
    String user = kind == DbKind.H2 ? "sa" : o.dbUser();
    SandboxOptions bad = SandboxOptions.defaults(tmp.resolve("bad")).withPort(0)
        .withDatabase(kind, url, user, wrong);
    assertThatThrownBy(() -> RunningSandbox.start(bad, new ProcessRunner()))
        .isInstanceOfSatisfying(SnapstashException.class, e -> {
          assertThat(e.kind()).isEqualTo(ErrorKind.AUTHENTICATION);
          assertThat(e.getMessage()).contains("--db-password-file");
        });
    if (kind != DbKind.H2) {
      SandboxOptions gone = SandboxOptions.defaults(tmp.resolve("gone")).withPort(0)
          .withDatabase(kind, kind == DbKind.POSTGRESQL ? "jdbc:postgresql://127.0.0.1:1/bitbucket"
              : "jdbc:mariadb://127.0.0.1:1/bitbucket", "bitbucket", tmp.resolve("wrong"));
      assertThatThrownBy(() -> RunningSandbox.start(gone, new ProcessRunner()))
          .isInstanceOfSatisfying(SnapstashException.class, e -> {
            assertThat(e.kind()).isEqualTo(ErrorKind.UNREACHABLE);
            assertThat(e.getMessage()).contains("--jdbc-url");
          });
    }
  }
}
