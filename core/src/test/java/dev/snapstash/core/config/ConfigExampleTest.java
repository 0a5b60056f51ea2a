package dev.snapstash.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The examples at the repository root must stay loadable. */
class ConfigExampleTest {
  private static final Path EXAMPLE = Path.of("..", "examples", "snapstash.yml");

  @Test
  void postgresqlRsyncExampleLoads() {
    Map<String, String> env = Map.of("BITBUCKET_PASSWORD", "bb-secret", "PGPASSWORD", "pg-secret");
    SnapstashConfig c = ConfigLoader.load(EXAMPLE, env);

    assertThat(c.instance().name()).isEqualTo("prod-bitbucket");
    assertThat(c.instance().baseUrl()).isEqualTo(URI.create("https://bitbucket.example.com"));
    assertThat(c.instance().password().reveal()).isEqualTo("bb-secret");
    assertThat(c.backup().drainTimeout()).isEqualTo(Duration.ofMinutes(5));
    assertThat(c.quiesce().type()).isEqualTo("bitbucket");
    assertThat(c.disk().type()).isEqualTo("rsync");
    assertThat(c.disk().settings(dev.snapstash.strategy.disk.rsync.RsyncSettings.class).excludes()).containsExactly("export/", "analytics-logs/");
    assertThat(c.database().type()).isEqualTo("postgresql");
    assertThat(c.database().settings(dev.snapstash.strategy.database.postgresql.PostgresSettings.class).jobs()).isEqualTo(4);
    assertThat(c.database().settings(dev.snapstash.strategy.database.postgresql.PostgresSettings.class).password().reveal()).isEqualTo("pg-secret");
    assertThat(c.retention().afterBackup()).isTrue();
    assertThat(c.verify().fsckBudget()).isEqualTo(Duration.ofHours(2));
    assertThat(c.notifications()).satisfiesExactly(n -> {
      assertThat(n.type()).isEqualTo("webhook");
      assertThat(n.settings(dev.snapstash.strategy.notify.webhook.WebhookSettings.class).onSuccess()).isFalse();
      assertThat(n.settings(dev.snapstash.strategy.notify.webhook.WebhookSettings.class).token().reference()).isEqualTo("${file:/etc/snapstash/webhook-token}");
    }, n -> {
      assertThat(n.type()).isEqualTo("email");
      var email = n.settings(dev.snapstash.strategy.notify.email.EmailSettings.class);
      assertThat(email.security()).isEqualTo("starttls");
      assertThat(email.when()).isEqualTo("failure");
      assertThat(email.password().reference()).isEqualTo("${file:/etc/snapstash/smtp-password}");
    });
  }
}
