package dev.snapstash.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.strategy.archive.tar.TarSettings;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code archive} list: every entry's name and retention beside its type's own keys, each checked in place. */
class ArchiveConfigTest {
  private static final String MINIMAL =
      """
      instance:
        name: prod
        home: /var/atlassian/bitbucket
      backup:
        root: /backups
      """;

  private static SnapstashConfig parse(String yaml, Map<String, String> env) {
    return ConfigLoader.parse(yaml, "snapstash.yml", Path.of("/etc/snapstash"), env);
  }

  private static String errors(String yaml) {
    try {
      parse(yaml, Map.of());
    } catch (SnapstashException e) {
      assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
      return e.getMessage();
    }
    throw new AssertionError("expected the configuration to be rejected");
  }

  @Test
  void anEntryHoldsItsNameAndRetentionBesideItsTypesKeys() {
    SnapstashConfig c = parse(MINIMAL + """
        archive:
          - name: offsite
            type: tar
            path: /mnt/offsite
            keep-daily: 7
            keep-monthly: 12
            level: 9
            recipients: [age1ug2mvcyw63wagua4njadz4wzcwp4d892psqalr6cuqhfta42vulqpns235]
          - name: usb
            type: tar
            path: usb
        """, Map.of("SNAPSTASH_ARCHIVE_1_KEEP_LAST", "3"));

    assertThat(c.archives()).hasSize(2);
    SnapstashConfig.Destination offsite = c.archives().get(0).common(SnapstashConfig.Destination.class);
    assertThat(offsite).isEqualTo(new SnapstashConfig.Destination("offsite", 0, 7, 0, 12));
    TarSettings tar = c.archives().get(0).settings(TarSettings.class);
    assertThat(tar.path()).isEqualTo(Path.of("/mnt/offsite"));
    assertThat(tar.level()).isEqualTo(9);
    assertThat(tar.workers()).isZero();
    assertThat(tar.recipients()).hasSize(1);
    assertThat(c.archives().get(1).common(SnapstashConfig.Destination.class).keepLast()).isEqualTo(3);
    assertThat(c.archives().get(1).settings(TarSettings.class).path()).isEqualTo(Path.of("/etc/snapstash/usb"));
  }

  @Test
  void noArchiveIsAnEmptyList() {
    assertThat(parse(MINIMAL, Map.of()).archives()).isEqualTo(List.of());
  }

  @Test
  void eachWrongValueIsNamedWithItsLine() {
    assertThat(errors(MINIMAL + "archive:\n  - type: tar\n    path: /mnt/x\n"))
        .isEqualTo("snapstash.yml:7: missing required key archive[0].name");
    assertThat(errors(MINIMAL + "archive:\n  - name: x\n    type: tar\n    path: /mnt/x\n    keep-last: -1\n"))
        .isEqualTo("snapstash.yml:10: archive[0].keep-last: '-1' must not be negative");
    assertThat(errors(MINIMAL + "archive:\n  - name: x\n    type: tar\n    path: /mnt/x\n    level: 30\n"))
        .isEqualTo("snapstash.yml:10: archive[0].level: '30' must be between 1 and 19");
    assertThat(errors(MINIMAL + "archive:\n  - name: x\n    type: rar\n    path: /mnt/x\n"))
        .startsWith("snapstash.yml:8: archive[0].type: 'rar' is not one of tar");
    assertThat(errors(MINIMAL + "archive:\n  - name: 'a b'\n    type: tar\n    path: /mnt/x\n"))
        .contains("archive[].name 'a b' must be 1 to 64 letters");
  }

  @Test
  void twoEntriesMayNotShareAName() {
    assertThat(errors(MINIMAL + "archive:\n  - {name: x, type: tar, path: /a}\n  - {name: x, type: tar, path: /b}\n"))
        .contains("two entries are named 'x'");
  }
}
