package dev.snapstash.core.stage;

import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What a refresh did, or with {@code plan} would do: the audit of every rule (rows matched before and after,
 * properties changed with secret values redacted, verification), as JSON and as text.
 *
 * @param stagingDatabase {@code NAME at HOST:PORT}, no credentials
 * @param parameters the values rules read, secret ones redacted
 * @param restore the restore's own report, null in a plan
 * @param hostsApplied the hosts file the block was written into, or null
 * @param audit the JSON audit file, then the text one; empty in a plan
 * @param jvmArgsApplied the start environment file the lockout recovery was written into, or null
 */
public record StageReport(
    String tag,
    String bitbucketVersion,
    boolean plan,
    Instant at,
    String stagingHome,
    String stagingDatabase,
    List<String> ruleFiles,
    Map<String, String> parameters,
    List<RuleRunner.Outcome> rules,
    Object restore,
    HostsBlock hosts,
    String hostsApplied,
    List<String> afterStart,
    List<String> audit,
    String recoveryPasswordFile,
    String jvmArgsApplied,
    boolean ok) {

  /**
   * What a reviewer approves in a plan, as canonical JSON: every rule's decision, statements and edits, the
   * parameters (secrets redacted), the targets, the Bitbucket version and the hosts block. Not the tag or the
   * time, so that an unattended {@code --from latest} may take a newer backup of the same version, but never do
   * more than the reviewed plan.
   */
  public String reviewable() {
    var doc = Json.MAPPER.createObjectNode();
    doc.put("bitbucketVersion", bitbucketVersion);
    doc.put("stagingHome", stagingHome);
    doc.put("stagingDatabase", stagingDatabase);
    doc.set("ruleFiles", Json.MAPPER.valueToTree(ruleFiles));
    doc.set("parameters", Json.MAPPER.valueToTree(new java.util.TreeMap<>(parameters)));
    var rs = doc.putArray("rules");
    for (RuleRunner.Outcome o : rules) {
      var r = rs.addObject();
      r.put("id", o.id());
      r.put("source", o.source());
      r.put("description", o.description());
      r.put("bitbucket", o.bitbucket());
      r.put("runs", o.status() == RuleRunner.Status.PLANNED);
      r.put("reason", o.reason());
      r.set("statements", Json.MAPPER.valueToTree(o.statements()));
      r.set("tables", Json.MAPPER.valueToTree(o.tables()));
      r.set("properties", Json.MAPPER.valueToTree(o.properties()));
    }
    doc.set("hosts", Json.MAPPER.valueToTree(hosts));
    try {
      return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(doc) + "\n";
    } catch (IOException e) {
      throw SnapstashException.internal("cannot write the plan as JSON", e);
    }
  }

  /** The steps only a running staging instance allows, printed for the administrator after every refresh. */
  public static final List<String> AFTER_START =
      List.of(
          "Mail: where Bitbucket stores its mail server is not documented, so no shipped rule changes it; after the"
              + " first start, remove it (DELETE /rest/api/latest/admin/mail-server) or point it at a sink (PUT"
              + " the same resource), or give the mail keys of your own layout in stage.rules-file.",
          "Log-in: production's external user directory (LDAP, Crowd) is usually unreachable from staging; start"
              + " the first time with -Datlassian.recovery.password=<secret> in JVM_SUPPORT_RECOMMENDED_ARGS"
              + " (Atlassian's lockout recovery process), and remove it afterwards.",
          "Never remove mirrors through the staging UI or REST API: that reaches production's mirrors.",
          "Then check the running copy: snapstash stage verify --staging <the staging file> (base URL, mail server,"
              + " licence, mirrors, database; exit code 11 names a failed check).");

  /** The readable form: one line per rule, then the hosts block and the steps left. */
  public String text() {
    StringBuilder b = new StringBuilder();
    b.append(plan ? "PLAN (nothing changed): stage " : "staged ").append(tag)
        .append(bitbucketVersion == null ? "" : " (Bitbucket " + bitbucketVersion + ")")
        .append(" into ").append(stagingHome).append(" and ").append(stagingDatabase).append('\n');
    b.append("  rules from ").append(String.join(", ", ruleFiles)).append('\n');
    parameters.forEach((k, v) -> b.append(String.format("  %-18s %s%n", k, v)));
    for (RuleRunner.Outcome o : rules) {
      b.append(String.format("  %-8s %-26s", o.status(), o.id()));
      switch (o.status()) {
        case APPLIED -> {
          b.append("verified");
          if (!o.before().isEmpty() && o.before().get(0) != null) {
            b.append(", before ").append(String.join("/", shown(o.before()))).append(" after ").append(String.join("/", shown(o.after())));
          }
          if (o.rowsChanged() > 0) {
            b.append(", ").append(o.rowsChanged()).append(" row(s) changed");
          }
          if (!o.tables().isEmpty()) {
            b.append(", in ").append(String.join(", ", o.tables()));
          }
        }
        case PLANNED -> {
          if (!o.tables().isEmpty()) {
            b.append("if table ").append(o.tables().get(0)).append(" exists: ");
          }
          b.append(!o.statements().isEmpty() ? String.join("; ", o.statements())
              : o.properties().isEmpty() ? "check only" : "edits shared/bitbucket.properties");
        }
        default -> b.append(o.reason());
      }
      b.append('\n');
      for (RuleRunner.PropertyChange c : o.properties()) {
        b.append("           bitbucket.properties ").append(c.key()).append(": ").append(c.from())
            .append(" -> ").append(c.to() == null ? "(removed)" : c.to()).append('\n');
      }
    }
    if (hosts != null) {
      b.append("  hosts block").append(hostsApplied == null ? " (not applied; --apply-hosts writes it)" : " written into " + hostsApplied)
          .append(":\n");
      hosts.text().lines().forEach(l -> b.append("    ").append(l).append('\n'));
      if (!hosts.kept().isEmpty()) {
        b.append("  left out of the block, since staging uses them: ").append(String.join(", ", hosts.kept())).append('\n');
      }
    }
    if (recoveryPasswordFile != null && jvmArgsApplied != null) {
      b.append("  lockout recovery for the first start (Atlassian's lockout recovery process): written into\n")
          .append("    ").append(jvmArgsApplied).append(" (JVM_SUPPORT_RECOMMENDED_ARGS, between snapstash markers), with the\n")
          .append("  password of ").append(recoveryPasswordFile).append("; log in as recovery_admin, then delete the block\n")
          .append("  before the next start\n");
    } else if (recoveryPasswordFile != null) {
      b.append("  lockout recovery for the first start (Atlassian's lockout recovery process): add\n")
          .append("    -Datlassian.recovery.password=\"$(cat ").append(recoveryPasswordFile).append(")\"\n")
          .append("  to JVM_SUPPORT_RECOMMENDED_ARGS in <install>/bin/_start-webapp.sh, start, log in as recovery_admin\n")
          .append("  with that password, then remove the property before the next start\n");
    }
    b.append("  after the first start:\n");
    afterStart.forEach(s -> b.append("    - ").append(s).append('\n'));
    if (!audit.isEmpty()) {
      b.append("  audit: ").append(String.join(", ", audit)).append('\n');
    }
    b.append(ok ? (plan ? "the plan is complete; nothing was changed" : "every rule that ran was applied and verified")
        : "THE REFRESH STOPPED AT A FAILING RULE; the staging copy is not fit to start").append('\n');
    return b.toString();
  }

  private static List<String> shown(List<String> values) {
    return values.stream().map(v -> v == null ? "none" : v.length() > 60 ? v.substring(0, 57) + "..." : v).toList();
  }

  /** Writes {@code stage-<tag>-<time>.json} and {@code .txt} into {@code dir}, readable by the owner only. */
  public StageReport writeAudit(Path dir) {
    String base = "stage-" + tag + "-" + at.toString().replace(":", "").replaceAll("\\.\\d+", "");
    Path json = dir.resolve(base + ".json");
    Path txt = dir.resolve(base + ".txt");
    StageReport withPaths =
        new StageReport(tag, bitbucketVersion, plan, at, stagingHome, stagingDatabase, ruleFiles, parameters, rules,
            restore, hosts, hostsApplied, afterStart, List.of(json.toString(), txt.toString()), recoveryPasswordFile,
            jvmArgsApplied, ok);
    try {
      Files.createDirectories(dir);
      var mode = java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      for (Path p : List.of(json, txt)) {
        Files.deleteIfExists(p);
        Files.createFile(p, mode);
      }
      Files.writeString(json, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(withPaths));
      Files.writeString(txt, withPaths.text());
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write the staging audit into " + dir + " (stage.audit-dir): " + e.getMessage(), e);
    }
    return withPaths;
  }
}
