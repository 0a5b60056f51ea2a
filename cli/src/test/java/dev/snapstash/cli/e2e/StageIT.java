package dev.snapstash.cli.e2e;

import static dev.snapstash.cli.e2e.Scenario.snapstash;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.util.Json;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.testing.Dumps;
import dev.snapstash.testing.MariaDbFixture;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * snapstash stage, end to end: a production sandbox on PostgreSQL (and on MariaDB) with mirror, mail, application-link, webhook,
 * hook and chat rows, backed up, then staged into a home of its own and a database on another server of its kind.
 * Production's database stays byte for byte as it was; the guard's refusals write nothing; a plan changes
 * nothing; a second refresh gives the same result.
 */
class StageIT {
  @RegisterExtension static final PostgresFixture PRODUCTION_PG = new PostgresFixture();
  @RegisterExtension static final PostgresFixture STAGING_PG = new PostgresFixture();
  @RegisterExtension static final MariaDbFixture PRODUCTION_MARIADB = new MariaDbFixture();
  @RegisterExtension static final MariaDbFixture STAGING_MARIADB = new MariaDbFixture();

  private static final String LICENCE = "AAAB-development-licence-for-staging-0123456789";
  private static final String STAGING_URL = "http://127.0.0.1:9";

  @TempDir Path tmp;

  @ParameterizedTest
  @EnumSource(value = DbKind.class, names = {"POSTGRESQL", "MARIADB"})
  void stagesAnIsolatedSanitisedCopyAndLeavesProductionAlone(DbKind kind) throws Exception {
    boolean pg = kind == DbKind.POSTGRESQL;
    TestDatabase prodDb = pg ? PRODUCTION_PG.newDatabase() : PRODUCTION_MARIADB.newDatabase();
    TestDatabase stagingDb = pg ? STAGING_PG.newDatabase() : STAGING_MARIADB.newDatabase();
    String q = pg ? "\"" : "`";
    String type = pg ? "postgresql" : "mysql";
    Path prodConfig;
    Path prodHome;
    String prodBaseUrl;
    String prodServerId;
    try (Scenario s = Scenario.start(tmp.resolve("prod"), kind, prodDb)) {
      prodConfig = s.config();
      prodHome = s.dir.resolve("home");
      prodBaseUrl = s.sandbox.baseUrl().toString();
      // Production behind a reverse proxy, as the staging KB's proxy step assumes.
      Files.writeString(prodHome.resolve("shared/bitbucket.properties"),
          "server.proxy-name=bitbucket.corp.example.com\nserver.proxy-port=443\nserver.scheme=https\nserver.secure=true\n",
          java.nio.file.StandardOpenOption.APPEND);
      assertThat(s.push(2)).isEqualTo(2);
      Scenario.Run backup = snapstash("-c", prodConfig.toString(), "backup");
      assertThat(backup.exit()).as(backup.out() + backup.err()).isZero();
      prodServerId = value(prodDb, "SELECT prop_value FROM app_property WHERE prop_key = 'server.id'");
    }
    // Production stopped: from here on nothing but snapstash could change its database.
    String prodDump = Dumps.of(prodDb);
    String prodTree = tree(prodHome);
    assertThat(count(prodDb, "SELECT COUNT(*) FROM plugin_setting WHERE key_name LIKE 'acnct.bitbucket.mirror.%'")).isEqualTo(3);

    Path stagingHome = tmp.resolve("staging/home");
    Path hosts = Files.writeString(tmp.resolve("hosts"), "127.0.0.1 localhost\n");
    Path audit = tmp.resolve("audit");
    Files.writeString(tmp.resolve("dev.licence"), LICENCE + "\n");
    Files.writeString(tmp.resolve("own-rules.yml"), """
        format: 1
        rules:
          - id: sandbox-mail-to-sink
            description: >-
              The sandbox keeps its mail server in app_property mail.server.* (its own layout, not Bitbucket's);
              send it to the sink.
            sql:
              - UPDATE app_property SET prop_value = ${mail-sink-host} WHERE prop_key = 'mail.server.host'
              - UPDATE app_property SET prop_value = ${mail-sink-port} WHERE prop_key = 'mail.server.port'
              - DELETE FROM app_property WHERE prop_key = 'mail.server.username'
            verify:
              sql: >-
                SELECT COUNT(*) FROM app_property WHERE prop_key LIKE 'mail.server.%'
                AND prop_value IN ('smtp.corp.example.com', 'bitbucket', '587')
              expect: "0"
        """);
    String stageSection = "stage:\n  mail-sink: 127.0.0.1:1025\n  license-file: " + tmp.resolve("dev.licence")
        + "\n  enable-rules: [mirror-settings-8x]\n  rules-file: " + tmp.resolve("own-rules.yml") + "\n  audit-dir: " + audit
        + "\n  hosts-file: " + hosts + "\n";
    Path staging = stagingFile("staging.yml", STAGING_URL, stagingHome, BackupUnderLoadIT.section(kind, stagingDb), stageSection);

    // ---- the guard: each refusal exits 3 naming the key, and writes nothing anywhere.
    String otherSpelling = prodDb.host().equals("127.0.0.1") ? "localhost" : "127.0.0.1";
    TestDatabase prodByOtherName = new TestDatabase(prodDb.kind(), otherSpelling, prodDb.port(), prodDb.database(),
        prodDb.user(), prodDb.password(), prodDb.passwordFile(), prodDb.jdbcUrl());
    Path link = Files.createSymbolicLink(tmp.resolve("link-to-prod"), prodHome);
    List<String[]> refused = List.of(
        new String[] {"database." + type + ".database", stagingFile("same-db.yml", STAGING_URL, stagingHome,
            BackupUnderLoadIT.section(kind, prodByOtherName), stageSection).toString()},
        new String[] {"instance.home", stagingFile("same-home.yml", STAGING_URL, prodHome,
            BackupUnderLoadIT.section(kind, stagingDb), stageSection).toString()},
        new String[] {"instance.home", stagingFile("symlink-home.yml", STAGING_URL, link,
            BackupUnderLoadIT.section(kind, stagingDb), stageSection).toString()},
        new String[] {"instance.home", stagingFile("inside-home.yml", STAGING_URL, prodHome.resolve("staging"),
            BackupUnderLoadIT.section(kind, stagingDb), stageSection).toString()},
        new String[] {"instance.base-url", stagingFile("same-url.yml", prodBaseUrl.toUpperCase(java.util.Locale.ROOT).replace("HTTP://", "http://") + "/",
            stagingHome, BackupUnderLoadIT.section(kind, stagingDb), stageSection).toString()});
    for (String[] r : refused) {
      Scenario.Run run = snapstash("-c", prodConfig.toString(), "stage", "--from", "latest", "--staging", r[1], "--yes", "--apply-hosts");
      assertThat(run.exit()).as(r[1] + ": " + run.out() + run.err()).isEqualTo(3);
      assertThat(run.err()).as(r[1]).contains(r[0]).doesNotContain("Exception");
      assertThat(stagingHome).doesNotExist();
      assertThat(prodHome.resolve("staging")).doesNotExist();
      assertThat(audit).doesNotExist();
      assertThat(Files.readString(hosts)).isEqualTo("127.0.0.1 localhost\n");
      assertThat(tables(stagingDb)).isZero();
    }
    assertThat(Dumps.of(prodDb)).isEqualTo(prodDump);
    assertThat(tree(prodHome)).isEqualTo(prodTree);

    // ---- a plan: says what would change, changes nothing.
    Path planFile = tmp.resolve("reviewed-plan.json");
    Scenario.Run plan = snapstash("-c", prodConfig.toString(), "stage", "--from", "latest", "--staging", staging.toString(), "--plan",
        "--plan-file", planFile.toString());
    assertThat(plan.exit()).as(plan.out() + plan.err()).isZero();
    assertThat(plan.out()).contains("PLAN (nothing changed)").contains("PLANNED  base-url")
        .contains("SKIPPED  mirror-connect-settings   applies to Bitbucket <8.0, not 8.19.1")
        .contains("PLANNED  mirror-settings-8x        DELETE FROM plugin_setting")
        .contains("VALUES ('license', ${license})").contains("PLANNED  development-license").doesNotContain(LICENCE);
    assertThat(stagingHome).doesNotExist();
    assertThat(tables(stagingDb)).isZero();

    // ---- the refresh.
    assertThat(Files.readString(planFile)).contains("\"id\" : \"base-url\"").doesNotContain(LICENCE);
    Scenario.Run first = snapstash("-c", prodConfig.toString(), "--json", "stage", "--from", "latest", "--staging", staging.toString(), "--yes", "--apply-hosts",
        "--plan-file", planFile.toString());
    assertThat(first.exit()).as(first.out() + first.err()).isZero();
    JsonNode report = first.json();
    assertThat(report.get("ok").asBoolean()).isTrue();
    List<String> applied = new ArrayList<>();
    for (JsonNode rule : report.get("rules")) {
      if (rule.get("status").asText().equals("APPLIED")) {
        applied.add(rule.get("id").asText());
        assertThat(rule.get("verified").asBoolean()).as(rule.get("id").asText()).isTrue();
      }
    }
    assertThat(applied).contains("jdbc-staging-database", "proxy-settings", "mirror-settings-8x", "base-url", "server-id",
        "application-links", "webhooks", "repository-hooks", "slack-users", "slack-tokens", "development-license",
        "sandbox-mail-to-sink");
    assertThat(first.out() + first.err()).doesNotContain(LICENCE).doesNotContain(stagingDb.password());

    // Sanitised: every seeded production integration is gone or off, and the copy is staging's own.
    assertThat(count(stagingDb, "SELECT COUNT(*) FROM plugin_setting WHERE key_name LIKE 'acnct.bitbucket.mirror.%'")).isZero();
    assertThat(count(stagingDb, "SELECT COUNT(*) FROM plugin_setting WHERE key_name = 'ac.addon.list' AND key_value LIKE '%mirror%'")).isZero();
    assertThat(count(stagingDb, "SELECT COUNT(*) FROM plugin_setting WHERE key_name LIKE 'applinks.%'")).isZero();
    assertThat(count(stagingDb, "SELECT COUNT(*) FROM " + q + "AO_A0B856_WEBHOOK" + q + " WHERE " + q + "ACTIVE" + q + " = TRUE")).isZero();
    assertThat(count(stagingDb, "SELECT COUNT(*) FROM " + q + "AO_A0B856_WEBHOOK" + q)).isEqualTo(2);
    assertThat(count(stagingDb, "SELECT COUNT(*) FROM sta_repo_hook WHERE is_enabled = TRUE")).isZero();
    assertThat(count(stagingDb, "SELECT COUNT(*) FROM " + q + "AO_5A4C1B_AOSLACK_LINK" + q)).isZero();
    assertThat(value(stagingDb, "SELECT prop_value FROM app_property WHERE prop_key = 'instance.url'")).isEqualTo(STAGING_URL);
    assertThat(value(stagingDb, "SELECT prop_value FROM app_property WHERE prop_key = 'server.id'"))
        .isNotEqualTo(prodServerId).matches("[A-Z0-9]{4}(-[A-Z0-9]{4}){3}");
    assertThat(value(stagingDb, "SELECT prop_value FROM app_property WHERE prop_key = 'license'")).isEqualTo(LICENCE);
    assertThat(value(stagingDb, "SELECT prop_value FROM app_property WHERE prop_key = 'mail.server.host'")).isEqualTo("127.0.0.1");
    assertThat(count(stagingDb, "SELECT COUNT(*) FROM repository")).isPositive();
    Properties props = new Properties();
    try (var r = Files.newBufferedReader(stagingHome.resolve("shared/bitbucket.properties"))) {
      props.load(r);
    }
    assertThat(props.getProperty("jdbc.url")).contains(stagingDb.database()).contains(":" + stagingDb.port() + "/");
    assertThat(props).doesNotContainKeys("server.proxy-name", "server.proxy-port", "server.scheme", "server.secure");
    // Isolated: production's host names go nowhere; the staging database's own host is left out of the block.
    assertThat(Files.readString(hosts)).startsWith("127.0.0.1 localhost\n")
        .contains("192.0.2.1 jira.corp.example.com").contains("192.0.2.1 mirror1.corp.example.com")
        .contains("192.0.2.1 ci.corp.example.com").contains("192.0.2.1 bitbucket.corp.example.com");
    // Audited, with the licence never written.
    Path auditJson;
    try (Stream<Path> files = Files.list(audit)) {
      List<Path> all = files.filter(p -> p.toString().endsWith(".json") || p.toString().endsWith(".txt")).sorted().toList();
      assertThat(all).hasSize(2);
      auditJson = all.stream().filter(p -> p.toString().endsWith(".json")).findFirst().orElseThrow();
      for (Path p : all) {
        assertThat(Files.readString(p)).doesNotContain(LICENCE).doesNotContain(stagingDb.password());
        assertThat(Files.getPosixFilePermissions(p)).containsExactlyInAnyOrder(
            java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
      }
    }
    JsonNode auditDoc = Json.MAPPER.readTree(auditJson.toFile());
    assertThat(auditDoc.get("rules").toString()).contains("\"before\":[\"3\"]").contains("\"after\":[\"0\"]");
    // Production untouched, byte for byte.
    assertThat(Dumps.of(prodDb)).isEqualTo(prodDump);
    assertThat(tree(prodHome)).isEqualTo(prodTree);

    // The lockout-recovery password: in a private file the report names, never printed.
    Path recovery = audit.resolve("stage-recovery-password");
    assertThat(report.get("recoveryPasswordFile").asText()).isEqualTo(recovery.toString());
    String recoveryPassword = Files.readString(recovery).strip();
    assertThat(recoveryPassword).hasSizeGreaterThanOrEqualTo(20);
    assertThat(Files.getPosixFilePermissions(recovery)).containsExactlyInAnyOrder(
        java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
    assertThat(first.out() + first.err()).doesNotContain(recoveryPassword);

    // ---- a plan against a staged copy changes nothing either.
    String stagedDump = Dumps.of(stagingDb);
    String stagedTree = tree(stagingHome);
    String hostsAfter = Files.readString(hosts);
    String propertiesAfter = Files.readString(stagingHome.resolve("shared/bitbucket.properties"));
    assertThat(snapstash("-c", prodConfig.toString(), "stage", "--from", "latest", "--staging", staging.toString(), "--plan").exit()).isZero();
    assertThat(Dumps.of(stagingDb)).isEqualTo(stagedDump);
    assertThat(tree(stagingHome)).isEqualTo(stagedTree);

    // ---- an unattended refresh that would do more than the reviewed plan is refused, changing nothing.
    Path changed = stagingFile("changed.yml", STAGING_URL, stagingHome, BackupUnderLoadIT.section(kind, stagingDb),
        stageSection.replace("enable-rules: [mirror-settings-8x]", "enable-rules: []"));
    Scenario.Run drifted = snapstash("-c", prodConfig.toString(), "stage", "--from", "latest", "--staging", changed.toString(), "--yes",
        "--plan-file", planFile.toString());
    assertThat(drifted.exit()).as(drifted.out() + drifted.err()).isEqualTo(7);
    assertThat(drifted.err()).contains("differ from the reviewed plan in --plan-file");
    assertThat(Dumps.of(stagingDb)).isEqualTo(stagedDump);
    assertThat(tree(stagingHome)).isEqualTo(stagedTree);

    // ---- a second refresh gives the same result.
    Scenario.Run second = snapstash("-c", prodConfig.toString(), "stage", "--from", "latest", "--staging", staging.toString(), "--yes", "--apply-hosts");
    assertThat(second.exit()).as(second.out() + second.err()).isZero();
    assertThat(second.out()).contains("every rule that ran was applied and verified");
    assertThat(Dumps.of(stagingDb)).isEqualTo(stagedDump);
    assertThat(Files.readString(stagingHome.resolve("shared/bitbucket.properties"))).isEqualTo(propertiesAfter);
    assertThat(Files.readString(hosts)).isEqualTo(hostsAfter);
    assertThat(Dumps.of(prodDb)).isEqualTo(prodDump);
  }

  private Path stagingFile(String name, String baseUrl, Path home, String databaseSection, String stageSection) throws Exception {
    String yml = "instance:\n  name: staging\n  base-url: " + baseUrl + "\n  home: " + home + "\n"
        + "backup:\n  root: " + tmp.resolve("staging-own-backups") + "\n"
        + "quiesce:\n  type: none\n" + databaseSection + stageSection;
    return Files.writeString(tmp.resolve(name), yml);
  }

  private static long count(TestDatabase db, String sql) throws Exception {
    return Long.parseLong(value(db, sql));
  }

  private static String value(TestDatabase db, String sql) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  private static long tables(TestDatabase db) throws Exception {
    return count(db, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
        + (db.kind().equals("postgresql") ? "'public'" : "DATABASE()"));
  }

  /** Every file's path, size and content, and every directory's, as one digest: any write shows. */
  private static String tree(Path root) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : all.sorted().toList()) {
        md.update(root.relativize(p).toString().getBytes());
        if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          md.update(Files.readAllBytes(p));
          md.update(Files.getLastModifiedTime(p).toString().getBytes());
        }
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
