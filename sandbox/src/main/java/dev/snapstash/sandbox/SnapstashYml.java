package dev.snapstash.sandbox;

import java.nio.file.Path;

/**
 * The ready-made {@code DIR/snapstash.yml} that backs the sandbox up into {@code DIR/backups}. One method on
 * purpose: it grows with the backup keys.
 */
public final class SnapstashYml {
  private SnapstashYml() {}

  public static String render(Path dir, SandboxState s) {
    SandboxLayout l = new SandboxLayout(dir);
    StringBuilder y = new StringBuilder();
    y.append("# snapstash configuration for the sandbox in ").append(l.dir())
        .append(" (written by `snapstash sandbox start`)\n");
    y.append("instance:\n");
    y.append("  name: sandbox\n");
    y.append("  base-url: ").append(s.baseUrl()).append('\n');
    y.append("  username: ").append(s.adminUser()).append('\n');
    y.append("  password: ${file:").append(s.adminPasswordFile()).append("}\n");
    y.append("  home: ").append(l.home()).append('\n');
    if (s.caFile() != null) {
      y.append("  # The sandbox's self-signed certificate (sandbox start --tls)\n");
      y.append("  ca-file: ").append(s.caFile()).append('\n');
    }
    y.append("backup:\n");
    y.append("  root: ").append(l.backups()).append('\n');
    y.append("quiesce:\n");
    y.append("  type: bitbucket\n");
    y.append("disk:\n");
    y.append("  type: rsync\n");
    y.append("database:\n");
    y.append("  type: ").append(s.db().configType()).append('\n');
    y.append("  ").append(s.db().configType()).append(":\n");
    if (s.db() == DbKind.H2) {
      y.append("    url: ").append(s.jdbcUrl()).append('\n');
    } else {
      y.append("    host: ").append(s.dbHost()).append('\n');
      y.append("    port: ").append(s.dbPort()).append('\n');
      y.append("    database: ").append(s.dbName()).append('\n');
    }
    y.append("    username: ").append(s.dbUser()).append('\n');
    y.append("    password: ${file:").append(s.dbPasswordFile()).append("}\n");
    return y.toString();
  }
}
