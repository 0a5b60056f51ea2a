package dev.snapstash.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ConfigReferenceTest {
  // The committed docs/configuration.md is compared in cli's ConfigReferenceTest: only there does the ServiceLoader
  // see the providers of every module (core's and aws's), whose keys it documents.

  @Test
  void everyKeyIsDocumentedWithTypeDefaultAndVariable() {
    String md = ConfigReference.markdown();
    for (ConfigKeys.Leaf k : ConfigKeys.walk(SnapstashConfig.class)) {
      assertThat(k.field().key().doc()).as(k.path()).isNotBlank().endsWith(".");
      assertThat(md).contains("### `" + k.path() + "`");
      assertThat(k.field().key().secret())
          .as(k.path() + ": @Key(secret) must match the Secret type")
          .isEqualTo(k.field().kind() == ConfigKeys.Kind.SECRET);
    }
    assertThat(md)
        .contains("| duration | `5m` | no | `SNAPSTASH_BACKUP_DRAIN_TIMEOUT` |")
        .contains("| path | none | yes | `SNAPSTASH_INSTANCE_HOME` |")
        .contains("| secret reference | none | no | `SNAPSTASH_DATABASE_POSTGRESQL_PASSWORD` |")
        .contains("| URL | none | yes | `SNAPSTASH_NOTIFY_<N>_URL` |")
        .contains("| list of sections | `[]` | no | `SNAPSTASH_NOTIFY` |")
        .contains("`SNAPSTASH_CONFIG`, `SNAPSTASH_FAULT_MARKER`, `SNAPSTASH_FAULT_POINT`, `SNAPSTASH_HOME`, `SNAPSTASH_JAVA_OPTS`,"
            + " `SNAPSTASH_LIB`, `SNAPSTASH_NATIVE`");
  }

  @Test
  void everyDefaultIsAcceptedByTheLoader() {
    // a configuration with only the required keys exercises every default of every section;
    // a notify entry exercises the defaults of list entries
    SnapstashConfig c =
        ConfigLoader.parse(
            "instance: {name: x, home: /h}\nbackup: {root: /b}\nnotify: [{type: webhook, url: 'https://h.example'}]\n",
            "test.yml",
            java.util.Map.of());
    assertThat(c.notifications().get(0).settings(dev.snapstash.strategy.notify.webhook.WebhookSettings.class).onSuccess()).isTrue();
  }
}
