package dev.snapstash.core.config.diy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.config.ConfigLoader;
import java.nio.file.Path;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Whatever an administrator wrote in the variables snapstash converts, the result loads and keeps no secret. */
class VarsConverterPropertiesTest {
  @Provide
  Arbitrary<String> anything() {
    return Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(30);
  }

  /** Mostly absolute, as a real file has them, but not always. */
  @Provide
  Arbitrary<String> paths() {
    Arbitrary<String> any = anything();
    return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, any.map(p -> "/" + p)), net.jqwik.api.Tuple.of(1, any));
  }

  @Provide
  Arbitrary<String> urls() {
    Arbitrary<String> any = anything();
    return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, any.map(p -> "https://" + p)), net.jqwik.api.Tuple.of(1, any));
  }

  @Provide
  Arbitrary<String> diskTypes() {
    return Arbitraries.of("rsync", "none", "amazon-ebs", "ebs-home", "zfs", "", "weird");
  }

  @Provide
  Arbitrary<String> databaseTypes() {
    return Arbitraries.of("postgresql", "mysql", "none", "amazon-rds", "rds", "ebs-collocated", "postgresql-fslevel", "mssql", "", "weird");
  }

  private static String q(String v) {
    return "'" + v.replace("'", "'\\''") + "'";
  }

  @Property(tries = 300)
  void anyValuesGiveAConfigurationThatLoads(
      @ForAll("anything") String name, @ForAll("urls") String url, @ForAll("paths") String home,
      @ForAll("anything") String user, @ForAll("anything") String host, @ForAll("anything") String db,
      @ForAll("anything") String port, @ForAll("anything") String room, @ForAll("anything") String keep,
      @ForAll("paths") String root, @ForAll("diskTypes") String disk, @ForAll("databaseTypes") String database,
      @ForAll boolean stashEra) {
    String p = stashEra ? "STASH" : "BITBUCKET";
    String file = String.join("\n",
        "INSTANCE_NAME=" + q(name),
        p + "_URL=" + q(url),
        p + "_HOME=" + q(home),
        p + "_BACKUP_USER=" + q(user),
        p + "_BACKUP_PASS='Secret-Pass-1'",
        (stashEra ? "BACKUP_HOME_TYPE=" : "BACKUP_DISK_TYPE=") + q(disk),
        "BACKUP_DATABASE_TYPE=" + q(database),
        "POSTGRES_HOST=" + q(host), "MYSQL_HOST=" + q(host),
        "BITBUCKET_DB=" + q(db),
        "POSTGRES_PORT=" + q(port),
        "PGPASSWORD='Secret-Pg-2'", "MYSQL_PASSWORD='Secret-My-3'",
        "HIPCHAT_ROOM=" + q(room), "HIPCHAT_TOKEN='Secret-Hc-4'",
        "KEEP_BACKUPS=" + q(keep),
        "BITBUCKET_BACKUP_ROOT=" + q(root));
    VarsConverter.Conversion c = VarsConverter.convert(VarsFile.parse(file), "vars.sh");
    ConfigLoader.parse(c.yaml(), "converted.yml", Path.of("/"), Map.of());
    assertThat(c.yaml() + c.verdicts() + c.unreadable()).doesNotContain("Secret-");
  }
}
