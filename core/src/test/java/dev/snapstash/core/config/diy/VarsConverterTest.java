package dev.snapstash.core.config.diy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Atlassian's own example vars files and a Stash-era one: each converts into a configuration the real loader
 * accepts, every variable gets a verdict, and no secret's value leaves the file.
 */
class VarsConverterTest {
  /** Found by {@code VarsConverterPropertiesTest}: {@code STASH_HOME="//"} became an empty path, which does not load. */
  @Test
  void trailingSlashesGoButTheRootStays() {
    assertThat(VarsConverter.withoutTrailingSlashes("//")).isEqualTo("/");
    assertThat(VarsConverter.withoutTrailingSlashes("/")).isEqualTo("/");
    assertThat(VarsConverter.withoutTrailingSlashes("/var/atlassian//")).isEqualTo("/var/atlassian");
    assertThat(VarsConverter.withoutTrailingSlashes("~/")).isEqualTo("~");
  }

  static String resource(String name) throws IOException {
    try (InputStream in = VarsConverterTest.class.getResourceAsStream("/diy/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static VarsConverter.Conversion convert(String text) {
    return VarsConverter.convert(VarsFile.parse(text), "vars.sh");
  }

  static SnapstashConfig load(VarsConverter.Conversion c) {
    return ConfigLoader.parse(c.yaml(), "converted.yml", Path.of("/"), Map.of());
  }

  static Map<String, VarsConverter.Verdict> byName(VarsConverter.Conversion c) {
    return c.verdicts().stream().collect(Collectors.toMap(VarsConverter.Verdict::name, v -> v));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "bitbucket.diy-backup.vars.sh.example", "bitbucket.diy-backup.vars.sh.example-aws",
      "bitbucket.diy-backup.vars.sh.example-postgres-rsync", "stash.diy-aws-backup.vars.sh"})
  void everyVariableHasOneVerdictAndTheResultLoads(String file) throws IOException {
    String text = resource(file);
    VarsFile.Result parsed = VarsFile.parse(text);
    VarsConverter.Conversion c = VarsConverter.convert(parsed, file);
    assertThat(byName(c).keySet()).containsExactlyInAnyOrderElementsOf(parsed.variables().keySet());
    assertThat(c.verdicts()).allSatisfy(v -> assertThat(v.why()).as(v.name()).isNotBlank());
    load(c); // throws, naming every problem, if the loader refuses it
  }

  @Test
  void theCurrentExampleBecomesRsyncAndPostgresql() throws IOException {
    VarsConverter.Conversion c = convert(resource("bitbucket.diy-backup.vars.sh.example"));
    SnapstashConfig config = load(c);
    assertThat(config.instance().name()).isEqualTo("bitbucket");
    assertThat(config.instance().baseUrl().toString()).isEqualTo("http://localhost:7990");
    assertThat(config.instance().home()).isEqualTo(Path.of("/var/atlassian/application-data/bitbucket"));
    assertThat(c.yaml()).contains("password: '${env:BITBUCKET_BACKUP_PASS}'").contains("password: '${env:PGPASSWORD}'")
        .contains("type: postgresql").contains("type: rsync").contains("port: 5432");
    Map<String, VarsConverter.Verdict> v = byName(c);
    assertThat(v.get("BITBUCKET_URL").status()).isEqualTo(VarsConverter.Status.CONVERTED);
    assertThat(v.get("BACKUP_ARCHIVE_TYPE").status()).isEqualTo(VarsConverter.Status.UNSUPPORTED);
    assertThat(v.get("HOME_DIRECTORY_MOUNT_POINT").why()).contains("amazon-ebs branch").contains("not taken");
    assertThat(v.get("RDS_INSTANCE_ID").status()).isEqualTo(VarsConverter.Status.IGNORED);
    assertThat(v.get("AWS_INFO").why()).as("computed, but for AWS, which rsync does not use").contains("do not use AWS");
    assertThat(v.get("STANDBY_DATABASE_SERVICE_USER").status()).isEqualTo(VarsConverter.Status.UNSUPPORTED);
    assertThat(v.get("KEEP_BACKUPS").why()).contains("0");
  }

  @Test
  void theStashEraAwsFileNamesWhatIsMissingAndKeepsTheHome() throws IOException {
    VarsConverter.Conversion c = convert(resource("stash.diy-aws-backup.vars.sh"));
    SnapstashConfig config = load(c);
    assertThat(config.instance().name()).isEqualTo("stash");
    assertThat(config.instance().home()).isEqualTo(Path.of("/media/atl/stash/shared"));
    assertThat(config.instance().username()).isEqualTo("admin");
    Map<String, VarsConverter.Verdict> v = byName(c);
    assertThat(v.get("STASH_URL").why()).isEqualTo("instance.base-url");
    assertThat(v.get("BACKUP_HOME_TYPE").status()).isEqualTo(VarsConverter.Status.UNSUPPORTED);
    assertThat(v.get("BACKUP_HOME_TYPE").why()).contains("amazon-ebs").contains("does not exist yet");
    assertThat(v.get("BACKUP_DATABASE_TYPE").why()).contains("NOT backed up");
    assertThat(v.get("HOME_DIRECTORY_DEVICE_NAME").status()).isEqualTo(VarsConverter.Status.UNSUPPORTED);
    assertThat(v.get("RESTORE_HOME_DIRECTORY_IOPS").status()).isEqualTo(VarsConverter.Status.UNSUPPORTED);
    assertThat(v.get("AWS_REGION").why()).contains("computed by a command");
    assertThat(v.get("HIPCHAT_TOKEN").why()).contains("${env:HIPCHAT_TOKEN}");
    assertThat(v.get("CURL_OPTIONS").status()).isEqualTo(VarsConverter.Status.IGNORED);
    assertThat(c.yaml()).contains("TODO: BACKUP_HOME_TYPE=ebs-home").contains("url: 'https://api.hipchat.com/v2/room/ops/notification'")
        .contains("type: hipchat");
    assertThat(config.notifications()).hasSize(1);
  }

  /** A URL with the password in it is not copied: it would be printed wherever the URL is. */
  @Test
  void aUrlHoldingCredentialsIsNotCopied() {
    VarsConverter.Conversion c = convert("INSTANCE_NAME=bb\nBITBUCKET_URL=https://admin:url-S3cret@bb.example.com\nBITBUCKET_HOME=/h\n");
    assertThat(c.yaml() + c.verdicts()).doesNotContain("url-S3cret");
    assertThat(byName(c).get("BITBUCKET_URL").why()).contains("instance.username and instance.password");
    load(c);
  }

  /** A value computed by a command is never taken for an empty one, nor run. */
  @Test
  void aComputedValueIsUnsupportedNotEmpty() {
    VarsConverter.Conversion c = convert("INSTANCE_NAME=bb\nBITBUCKET_HOME=$(grep home /etc/bb.conf)\nBITBUCKET_URL=http://x\n");
    assertThat(byName(c).get("BITBUCKET_HOME").status()).isEqualTo(VarsConverter.Status.UNSUPPORTED);
    assertThat(byName(c).get("BITBUCKET_HOME").why()).contains("computed by a command");
    assertThat(c.yaml()).contains("TODO: the vars file names no home");
  }

  /** The secrets' values are in the file; none may reach the configuration or the report. */
  @Test
  void secretValuesNeverLeaveTheFile() throws IOException {
    String text = resource("stash.diy-aws-backup.vars.sh")
        + "\nexport PGPASSWORD=\"pg-S3cret\"\nMYSQL_PASSWORD=my-S3cret\nAWS_SECRET_ACCESS_KEY=aws-S3cret\nPGPASSWORD+=more-S3cret\n";
    VarsConverter.Conversion c = convert(text);
    String all = c.yaml() + c.verdicts() + c.unreadable();
    for (String secret : new String[] {"p@ss w0rd", "hc-token-0123456789", "pg-S3cret", "my-S3cret", "aws-S3cret", "more-S3cret"}) {
      assertThat(all).doesNotContain(secret);
    }
    assertThat(c.yaml()).contains("password: '${env:STASH_BACKUP_PASS}'");
  }
}
