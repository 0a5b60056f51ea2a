package dev.snapstash.core.stage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostsBlockTest {
  @TempDir Path tmp;

  @Test
  void sendsProductionsNamesNowhereButKeepsWhatStagingUses() {
    HostsBlock b = HostsBlock.of("192.0.2.1",
        List.of("Bitbucket.Example.com", "db.internal", "10.0.0.5", "localhost", "jira.example.com", "jira.example.com"),
        List.of("db.internal", "staging.example.com"));
    assertThat(b.names()).containsExactly("bitbucket.example.com", "jira.example.com");
    assertThat(b.kept()).containsExactly("db.internal");
    assertThat(b.text()).isEqualTo(HostsBlock.BEGIN + "\n192.0.2.1 bitbucket.example.com\n192.0.2.1 jira.example.com\n" + HostsBlock.END + "\n");
  }

  @Test
  void findsHostsInUrlsInsideSettings() {
    assertThat(HostsBlock.hostsIn("{\"baseUrl\":\"https://mirror1.corp.example.com:8443/x\",\"y\":\"ssh://git@git.corp.example.com/r\"}"))
        .containsExactly("mirror1.corp.example.com", "git.corp.example.com");
  }

  @Test
  void writingTwiceReplacesTheBlockAndKeepsTheRest() throws Exception {
    Path hosts = Files.writeString(tmp.resolve("hosts"), "127.0.0.1 localhost\n::1 localhost");
    HostsBlock.of("192.0.2.1", List.of("a.example.com"), List.of()).apply(hosts);
    String once = Files.readString(hosts);
    HostsBlock.of("192.0.2.1", List.of("a.example.com"), List.of()).apply(hosts);
    assertThat(Files.readString(hosts)).isEqualTo(once);
    HostsBlock.of("192.0.2.1", List.of("b.example.com"), List.of()).apply(hosts);
    assertThat(Files.readString(hosts)).isEqualTo(
        "127.0.0.1 localhost\n::1 localhost\n" + HostsBlock.BEGIN + "\n192.0.2.1 b.example.com\n" + HostsBlock.END + "\n");
  }
}
