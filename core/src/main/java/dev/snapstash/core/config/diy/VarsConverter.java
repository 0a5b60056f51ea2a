package dev.snapstash.core.config.diy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns the variables of a DIY backup vars file, current ({@code BITBUCKET_*}, {@code BACKUP_DISK_TYPE}…) or Stash-era
 * ({@code STASH_*}, {@code BACKUP_HOME_TYPE}…), into a {@code snapstash.yml} and a verdict on every variable:
 * converted (to which key), ignored (why it is not needed) or unsupported (what snapstash lacks). Secrets become
 * {@code ${env:NAME}} references to a variable of the same name: their values are never read into the output or
 * a verdict. Pure.
 */
public final class VarsConverter {
  private static final Pattern SECRET = Pattern.compile(".*(PASS|PASSWORD|TOKEN|SECRET).*");

  private VarsConverter() {}

  public enum Status {
    CONVERTED,
    IGNORED,
    UNSUPPORTED
  }

  /** What became of one variable; {@code why} names the key it went to, or the reason; never a value. */
  public record Verdict(String name, int line, Status status, String why) {}

  /** The configuration's text, and a verdict on every variable and on the lines that were not read. */
  public record Conversion(String yaml, List<Verdict> verdicts, List<String> unreadable) {
    public long count(Status s) {
      return verdicts.stream().filter(v -> v.status() == s).count();
    }
  }

  public static Conversion convert(VarsFile.Result parsed, String sourceName) {
    return new Run(parsed).convert(sourceName);
  }

  /** One conversion: the variables, the verdicts given so far and the YAML being built. */
  private static final class Run {
    final Map<String, VarsFile.Variable> vars;
    final Map<String, Verdict> verdicts = new LinkedHashMap<>();
    final Yaml yaml = new Yaml();
    final List<String> unreadable;

    Run(VarsFile.Result parsed) {
      this.vars = parsed.variables();
      this.unreadable = parsed.unreadable();
    }

    /** The name with what snapstash does not allow in a tag prefix replaced, or empty. */
    static String instanceName(String v) {
      String n = v.replaceAll("[^A-Za-z0-9._-]", "-");
      if (!n.isEmpty() && (n.charAt(0) == '.' || n.charAt(0) == '-')) {
        n = "_" + n;
      }
      return n.length() > 99 ? n.substring(0, 99) : n;
    }

    /** {@code text} as an http(s) URL without user information, as the loader takes it, or null. */
    static java.net.URI url(String text) {
      try {
        java.net.URI u = new java.net.URI(text.strip());
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
        boolean ok = (scheme.equals("http") || scheme.equals("https")) && u.getHost() != null && u.getRawUserInfo() == null;
        return ok ? u : null;
      } catch (java.net.URISyntaxException e) {
        return null;
      }
    }

    String value(String name) {
      VarsFile.Variable v = vars.get(name);
      return v == null || !v.active() || v.computed() ? "" : v.value().strip();
    }

    boolean has(String name) {
      return !value(name).isEmpty();
    }

    /** The first of the names that is set: the current name, then the Stash-era one. */
    String first(String... names) {
      for (String n : names) {
        if (has(n)) {
          return n;
        }
      }
      return null;
    }

    void verdict(String name, Status status, String why) {
      VarsFile.Variable v = vars.get(name);
      if (v != null && !verdicts.containsKey(name)) {
        verdicts.put(name, new Verdict(name, v.line(), status, why));
      }
    }

    void converted(String name, String key) {
      verdict(name, Status.CONVERTED, key);
    }

    void ignored(String name, String why) {
      verdict(name, Status.IGNORED, why);
    }

    void unsupported(String name, String why) {
      verdict(name, Status.UNSUPPORTED, why);
    }

    /** Sets {@code key} from the first of {@code names} that has a value; the others become ignored. */
    boolean take(String key, String section, String yamlKey, java.util.function.UnaryOperator<String> map, String... names) {
      String n = first(names);
      for (String other : names) {
        // a computed one is not empty: rest() says what it is
        if (!other.equals(n) && !(vars.containsKey(other) && vars.get(other).computed())) {
          ignored(other, vars.containsKey(other) && has(other) ? "superseded by " + n : "empty");
        }
      }
      if (n == null) {
        return false;
      }
      yaml.put(section, yamlKey, Yaml.quote(map.apply(value(n))), "from " + n);
      converted(n, key);
      return true;
    }

    Conversion convert(String sourceName) {
      // Variables in a case branch not taken are about a strategy not chosen.
      vars.values().stream().filter(v -> !v.active()).forEach(v -> ignored(v.name(), v.inactiveBranch()));

      instance();
      String disk = disk();
      String database = database(disk);
      backupRoot(disk);
      retention();
      notifications();
      rest(disk, database);

      List<Verdict> all = new ArrayList<>(verdicts.values());
      all.sort(java.util.Comparator.comparingInt(Verdict::line));
      String header =
          "# snapstash configuration converted by `snapstash import-vars` from " + sourceName + ".\n"
              + "# Review every line marked TODO; docs/configuration.md describes each key. Secrets are references:\n"
              + "# set the variables they name in the backup job's environment, or change them to ${file:/path}.\n\n";
      return new Conversion(header + yaml.render(), List.copyOf(all), unreadable);
    }

    void instance() {
      if (take("instance.name", "instance", "name", Run::instanceName, "INSTANCE_NAME")
          && !instanceName(value("INSTANCE_NAME")).equals(value("INSTANCE_NAME"))) {
        verdicts.remove("INSTANCE_NAME");
        converted("INSTANCE_NAME", "instance.name, with each character snapstash does not allow in a name (letters,"
            + " digits, '.', '_', '-'; at most 99) replaced by '-'");
      }
      String url = first("BITBUCKET_URL", "STASH_URL");
      if (url != null && url(value(url)) == null) {
        unsupported(url, value(url).contains("@")
            ? "holds a user name or password, which snapstash never keeps in a URL: set instance.username and"
                + " instance.password (the URL is not copied)"
            : "not an http or https URL like https://host:port/path; set instance.base-url by hand");
        ignored(url.equals("BITBUCKET_URL") ? "STASH_URL" : "BITBUCKET_URL", "superseded by " + url);
      } else {
        take("instance.base-url", "instance", "base-url", v -> v.replaceAll("/+$", ""), "BITBUCKET_URL", "STASH_URL");
      }
      take("instance.username", "instance", "username", v -> v, "BITBUCKET_BACKUP_USER", "STASH_BACKUP_USER");
      for (String n : List.of("BITBUCKET_BACKUP_PASS", "STASH_BACKUP_PASS")) {
        if (vars.containsKey(n) && vars.get(n).active() && !yaml.has("instance", "password")) {
          yaml.put("instance", "password", Yaml.quote("${env:" + n + "}"),
              "from " + n + ": export " + n + " in the backup job's environment");
          converted(n, "instance.password, as ${env:" + n + "}");
        }
      }
      if (!takePath("instance.home", "instance", "home", "BITBUCKET_HOME", "STASH_HOME")) {
        yaml.put("instance", "home", Yaml.quote("/var/atlassian/application-data/bitbucket"),
            "TODO: the vars file names no home (it was on an EBS volume); set $BITBUCKET_HOME here");
      }
      if (!yaml.has("instance", "name")) {
        yaml.put("instance", "name", Yaml.quote("bitbucket"), "TODO: INSTANCE_NAME was not set");
      }
      if (value("INSTANCE_TYPE").equals("bitbucket-mesh")) {
        unsupported("INSTANCE_TYPE", "Mesh nodes are not backed up by snapstash");
      } else {
        ignored("INSTANCE_TYPE", "a Bitbucket Data Center instance is what snapstash backs up");
      }
      if (value("BACKUP_ZERO_DOWNTIME").equals("true")) {
        yaml.put("quiesce", "type", "none", "from BACKUP_ZERO_DOWNTIME=true: no lock; needs a disk strategy that snapshots");
        converted("BACKUP_ZERO_DOWNTIME", "quiesce.type: none");
      } else {
        yaml.put("quiesce", "type", "bitbucket", "the maintenance lock, as the DIY scripts take it");
        ignored("BACKUP_ZERO_DOWNTIME", "not true: the instance is locked (quiesce.type: bitbucket)");
      }
    }

    /** The disk strategy's name in snapstash, or null when the vars file's has none here. */
    String disk() {
      String n = first("BACKUP_DISK_TYPE", "BACKUP_HOME_TYPE");
      String type = n == null ? "rsync" : value(n);
      for (String other : List.of("BACKUP_DISK_TYPE", "BACKUP_HOME_TYPE")) {
        if (!other.equals(n)) {
          ignored(other, "superseded by " + n);
        }
      }
      switch (type) {
        case "rsync" -> {
          yaml.put("disk", "type", "rsync", n == null ? "the DIY scripts' default" : "from " + n);
          if (n != null) {
            converted(n, "disk.type: rsync");
          }
          return "rsync";
        }
        case "none" -> {
          yaml.put("disk", "type", "none", "from " + n);
          converted(n, "disk.type: none");
          return "none";
        }
        case "amazon-ebs", "ebs-home" -> {
          unsupported(n, "the amazon-ebs disk strategy (EBS snapshots) does not exist yet (issue #19); rsync is written"
              + " instead, which copies the same home under the same lock");
          yaml.put("disk", "type", "rsync", "TODO: " + n + "=" + type + " has no strategy in snapstash yet; rsync copies the home instead");
          return "ebs";
        }
        case "zfs" -> {
          unsupported(n, "the DIY scripts' ZFS settings are not converted yet; rsync is written instead (set disk.type: zfs"
              + " and disk.zfs.dataset by hand: docs/strategies/disk-zfs.md)");
          yaml.put("disk", "type", "rsync", "TODO: " + n + "=zfs is not converted yet; set disk.type: zfs and disk.zfs.dataset by"
              + " hand (docs/strategies/disk-zfs.md); rsync copies the home meanwhile");
          return "zfs";
        }
        default -> {
          unsupported(n, "no disk strategy of that name; rsync is written instead");
          yaml.put("disk", "type", "rsync", "TODO: " + n + " names no strategy snapstash knows; rsync copies the home instead");
          return "unknown";
        }
      }
    }

    String database(String disk) {
      String type = value("BACKUP_DATABASE_TYPE");
      switch (type) {
        case "postgresql" -> {
          yaml.put("database", "type", "postgresql", "from BACKUP_DATABASE_TYPE");
          converted("BACKUP_DATABASE_TYPE", "database.type: postgresql");
          take("database.postgresql.host", "database.postgresql", "host", v -> v, "POSTGRES_HOST");
          takeInt("database.postgresql.port", "database.postgresql", "port", "POSTGRES_PORT");
          take("database.postgresql.database", "database.postgresql", "database", v -> v, "BITBUCKET_DB");
          take("database.postgresql.username", "database.postgresql", "username", v -> v, "POSTGRES_USERNAME");
          if (vars.containsKey("PGPASSWORD") && vars.get("PGPASSWORD").active()) {
            yaml.put("database.postgresql", "password", Yaml.quote("${env:PGPASSWORD}"), "from PGPASSWORD: export it in the backup job's environment");
            converted("PGPASSWORD", "database.postgresql.password, as ${env:PGPASSWORD}");
          }
          return "postgresql";
        }
        case "mysql" -> {
          yaml.put("database", "type", "mysql", "from BACKUP_DATABASE_TYPE");
          converted("BACKUP_DATABASE_TYPE", "database.type: mysql");
          take("database.mysql.host", "database.mysql", "host", v -> v, "MYSQL_HOST");
          take("database.mysql.database", "database.mysql", "database", v -> v, "BITBUCKET_DB");
          take("database.mysql.username", "database.mysql", "username", v -> v, "MYSQL_USERNAME");
          if (vars.containsKey("MYSQL_PASSWORD") && vars.get("MYSQL_PASSWORD").active()) {
            yaml.put("database.mysql", "password", Yaml.quote("${env:MYSQL_PASSWORD}"), "from MYSQL_PASSWORD: export it in the backup job's environment");
            converted("MYSQL_PASSWORD", "database.mysql.password, as ${env:MYSQL_PASSWORD}");
          }
          if (has("MYSQL_BACKUP_OPTIONS")) {
            unsupported("MYSQL_BACKUP_OPTIONS", "extra mysqldump options are not configurable; snapstash chooses its own");
          }
          return "mysql";
        }
        case "none" -> {
          yaml.put("database", "type", "none", "from BACKUP_DATABASE_TYPE");
          converted("BACKUP_DATABASE_TYPE", "database.type: none");
          return "none";
        }
        case "" -> {
          yaml.put("database", "type", "none", "TODO: BACKUP_DATABASE_TYPE was not set; choose postgresql, mysql or h2");
          return "none";
        }
        default -> {
          String why =
              switch (type) {
                case "amazon-rds", "rds" -> "the amazon-rds database strategy (RDS snapshots) does not exist yet (issue #19)";
                case "ebs-collocated", "postgresql-fslevel" -> "the database files are copied by an EBS snapshot of the home's volume, and the amazon-ebs strategy does not exist yet (issue #19)";
                case "mssql" -> "SQL Server is not supported";
                case "postgresql-docker" -> "PostgreSQL in a Docker container is not supported; point database.postgresql at its published port";
                default -> "no database strategy of that name";
              };
          unsupported("BACKUP_DATABASE_TYPE", why + "; database.type: none is written, so the database is NOT backed up");
          yaml.put("database", "type", "none", "TODO: BACKUP_DATABASE_TYPE=" + type + ": " + why);
          return "unsupported";
        }
      }
    }

    /**
     * An absolute path, or {@code ~} and {@code ~/…} (which both expand to the backup user's home); anything else
     * is unsupported: the scripts would have resolved a relative path against wherever they were started.
     */
    boolean takePath(String key, String section, String yamlKey, String... names) {
      String n = first(names);
      if (n != null && !value(n).matches("/.*|~|~/.*")) {
        unsupported(n, "not an absolute path; set " + key + " by hand");
        for (String other : names) {
          if (!other.equals(n)) {
            ignored(other, "superseded by " + n);
          }
        }
        return false;
      }
      return take(key, section, yamlKey, VarsConverter::withoutTrailingSlashes, names);
    }

    void takeInt(String key, String section, String yamlKey, String name) {
      if (!has(name)) {
        ignored(name, "empty: the default applies");
      } else if (value(name).matches("[0-9]{1,9}")) {
        yaml.put(section, yamlKey, value(name), "from " + name);
        converted(name, key);
      } else {
        unsupported(name, "not a whole number");
      }
    }

    void backupRoot(String disk) {
      if (!takePath("backup.root", "backup", "root", "BITBUCKET_BACKUP_ROOT", "STASH_BACKUP_ROOT")) {
        yaml.put("backup", "root", Yaml.quote("/var/backups/bitbucket"),
            "TODO: the vars file names no backup directory" + (disk.equals("ebs") ? " (EBS snapshots needed none)" : "") + "; choose one on another disk");
      }
      for (String n : List.of("BITBUCKET_BACKUP_DB", "BITBUCKET_BACKUP_HOME", "BITBUCKET_BACKUP_DATA_STORES",
          "STASH_BACKUP_DB", "STASH_BACKUP_HOME")) {
        ignored(n, "snapstash lays out each backup under backup.root itself");
      }
      String archive = value("BACKUP_ARCHIVE_TYPE");
      if (archive.isEmpty()) {
        ignored("BACKUP_ARCHIVE_TYPE", "empty: no archive step");
      } else {
        unsupported("BACKUP_ARCHIVE_TYPE", "the archive step (" + archive + ") is not in this build (issue #21 brings tar);"
            + " backups stay as directories under backup.root");
      }
      for (String n : List.of("BITBUCKET_BACKUP_ARCHIVE_ROOT", "STASH_BACKUP_ARCHIVE_ROOT", "BITBUCKET_BACKUP_GPG_RECIPIENT")) {
        if (has(n)) {
          unsupported(n, "the archive step is not in this build (issue #21)");
        } else {
          ignored(n, "empty");
        }
      }
    }

    void retention() {
      String n = first("KEEP_BACKUPS");
      if (n == null) {
        return;
      }
      String v = value(n);
      if (!v.matches("[0-9]{1,6}")) {
        unsupported(n, "not a whole number");
      } else if (v.equals("0")) {
        ignored(n, "0: old backups are kept (no retention keys)");
      } else {
        yaml.put("retention", "keep-last", v, "from KEEP_BACKUPS");
        yaml.put("retention", "after-backup", "true", "the DIY scripts prune after every backup");
        converted(n, "retention.keep-last, with retention.after-backup: true");
      }
    }

    void notifications() {
      boolean room = has("HIPCHAT_ROOM");
      boolean token = vars.containsKey("HIPCHAT_TOKEN") && vars.get("HIPCHAT_TOKEN").active() && has("HIPCHAT_TOKEN");
      if (room && token) {
        String base = (has("HIPCHAT_URL") ? value("HIPCHAT_URL") : "https://api.hipchat.com").replaceAll("/+$", "");
        String roomPath = java.net.URLEncoder.encode(value("HIPCHAT_ROOM"), java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
        String notification = base + "/v2/room/" + roomPath + "/notification";
        if (url(notification) == null) {
          unsupported("HIPCHAT_URL", "not an http or https URL; no notify entry is written");
          ignored("HIPCHAT_ROOM", "HIPCHAT_URL is not usable");
          ignored("HIPCHAT_TOKEN", "HIPCHAT_URL is not usable");
          return;
        }
        yaml.notify(List.of(
            "type: hipchat",
            "url: " + Yaml.quote(notification),
            "token: " + Yaml.quote("${env:HIPCHAT_TOKEN}") + "  # export HIPCHAT_TOKEN in the backup job's environment"));
        converted("HIPCHAT_URL", "notify[0].url");
        converted("HIPCHAT_ROOM", "notify[0].url");
        converted("HIPCHAT_TOKEN", "notify[0].token, as ${env:HIPCHAT_TOKEN}");
      } else {
        for (String n : List.of("HIPCHAT_URL", "HIPCHAT_ROOM", "HIPCHAT_TOKEN")) {
          ignored(n, "HipChat is not configured (HIPCHAT_ROOM and HIPCHAT_TOKEN are not both set)");
        }
      }
      for (String n : List.of("HIPCHAT_NOTIFY_ROOM", "STASH_HIPCHAT_NOTIFY_ROOM")) {
        ignored(n, "notify[].notify-room defaults to false; set it in the notify entry if wanted");
      }
    }

    /** Every variable not decided yet, by family. */
    void rest(String disk, String database) {
      boolean aws = disk.equals("ebs") || database.equals("unsupported") && Set.of("amazon-rds", "rds", "ebs-collocated", "postgresql-fslevel").contains(value("BACKUP_DATABASE_TYPE"));
      for (VarsFile.Variable v : vars.values()) {
        String n = v.name();
        if (verdicts.containsKey(n)) {
          continue;
        }
        boolean awsFamily = n.startsWith("AWS_") || n.startsWith("RESTORE_") || n.startsWith("HOME_DIRECTORY_") || n.startsWith("EBS_")
            || n.startsWith("RDS_") || n.startsWith("BACKUP_DEST_") || Set.of("FSFREEZE", "IS_AURORA", "FILESYSTEM_TYPE", "DR_RDS_READ_REPLICA").contains(n);
        if (v.computed() && !(awsFamily && !aws)) {
          unsupported(n, "computed by a command in the file, which import-vars does not run; set what it stands for by hand");
        } else if (n.startsWith("AWS_") || n.startsWith("RESTORE_") || n.startsWith("HOME_DIRECTORY_") || n.startsWith("EBS_")
            || n.startsWith("RDS_") || n.startsWith("BACKUP_DEST_") || Set.of("FSFREEZE", "IS_AURORA", "FILESYSTEM_TYPE", "DR_RDS_READ_REPLICA").contains(n)) {
          if (aws) {
            unsupported(n, "an AWS setting for the EBS/RDS strategies, which do not exist yet (issue #19)");
          } else {
            ignored(n, "an AWS setting; the strategies chosen do not use AWS");
          }
        } else if (n.startsWith("STANDBY_") || n.startsWith("DR_") || n.equals("ZFS_HOME_FILESYSTEM")) {
          if (has(n) && !n.equals("STANDBY_DISK_TYPE") && !n.equals("STANDBY_DATABASE_TYPE")) {
            unsupported(n, "disaster-recovery replication is not part of snapstash");
          } else {
            ignored(n, has(n) ? "disaster-recovery replication is not part of snapstash (a standby's setting)" : "empty");
          }
        } else if (n.startsWith("ZFS_")) {
          ignored(n, disk.equals("zfs") ? "the zfs strategy is not in this build" : "a zfs setting; zfs is not chosen");
        } else if (n.startsWith("ELASTICSEARCH_") || n.equals("BACKUP_ELASTICSEARCH_TYPE")) {
          if (n.equals("BACKUP_ELASTICSEARCH_TYPE") && has(n)) {
            unsupported(n, "a separate Elasticsearch/OpenSearch snapshot is not supported; a bundled search index lives in the home and is copied with it");
          } else {
            ignored(n, "no separate search-index snapshot: a bundled index lives in the home and is copied with it");
          }
        } else if (SECRET.matcher(n).matches()) {
          ignored(n, "a secret for a part snapstash does not configure from this file");
        } else {
          String why =
              switch (n) {
                case "BITBUCKET_UID", "BITBUCKET_GID", "STASH_UID", "STASH_GID" -> "snapstash keeps owners and modes as they are in the home";
                case "BITBUCKET_VERBOSE_BACKUP", "STASH_VERBOSE_BACKUP" -> "snapstash logs what it does; --debug adds detail";
                case "CURL_OPTIONS" -> "snapstash speaks HTTP itself: for a private CA set instance.ca-file, for a proxy instance.proxy";
                case "BITBUCKET_DATA_STORES", "BITBUCKET_BACKUP_EXCLUDE_REPOS" -> has(n) ? null : "empty";
                case "POSTGRESQL_SERVICE_NAME", "BITBUCKET_DB", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USERNAME",
                    "MYSQL_HOST", "MYSQL_USERNAME", "MYSQL_BACKUP_OPTIONS" -> "a setting of a database type not chosen";
                case "PRODUCT", "BITBUCKET_BACKUP_USER", "STASH_BACKUP_USER" -> "not needed";
                default -> "not a DIY backup variable snapstash knows";
              };
          if (why == null) {
            unsupported(n, n.equals("BITBUCKET_DATA_STORES") ? "data stores outside the home are not backed up by snapstash"
                : "excluding repositories is not supported: a backup holds every repository");
          } else {
            ignored(n, why);
          }
        }
      }
    }
  }

  /** A small YAML writer: sections of scalar keys, each with a comment, and the notify list. */
  static final class Yaml {
    private final Map<String, Map<String, String[]>> sections = new LinkedHashMap<>();
    private final List<List<String>> notify = new ArrayList<>();

    boolean has(String section, String key) {
      return sections.containsKey(section) && sections.get(section).containsKey(key);
    }

    void put(String section, String key, String value, String comment) {
      sections.computeIfAbsent(section, s -> new LinkedHashMap<>()).putIfAbsent(key, new String[] {value, comment});
    }

    void notify(List<String> entry) {
      notify.add(entry);
    }

    /** A YAML single-quoted scalar: nothing in it is special but the quote, written twice. */
    static String quote(String s) {
      return "'" + s.replace("'", "''") + "'";
    }

    String render() {
      StringBuilder out = new StringBuilder();
      List<String> order = List.of("instance", "backup", "quiesce", "disk", "database", "database.postgresql", "database.mysql", "retention");
      List<String> names = new ArrayList<>(order);
      sections.keySet().stream().filter(s -> !order.contains(s)).forEach(names::add);
      String open = null;
      for (String name : names) {
        Map<String, String[]> keys = sections.get(name);
        if (keys == null) {
          continue;
        }
        String[] path = name.split("\\.");
        String indent = "  ".repeat(path.length);
        if (path.length == 1 || !path[0].equals(open)) {
          if (out.length() > 0 && path.length == 1) {
            out.append('\n');
          }
          if (!(path.length > 1 && path[0].equals(open))) {
            if (path.length > 1 && out.length() > 0) {
              out.append('\n');
            }
            out.append(path[0]).append(":\n");
          }
        }
        if (path.length > 1) {
          out.append("  ").append(path[1]).append(":\n");
        }
        open = path[0];
        for (Map.Entry<String, String[]> e : keys.entrySet()) {
          out.append(indent).append("# ").append(e.getValue()[1]).append('\n');
          out.append(indent).append(e.getKey()).append(": ").append(e.getValue()[0]).append('\n');
        }
      }
      if (!notify.isEmpty()) {
        out.append("\nnotify:\n");
        for (List<String> entry : notify) {
          for (int i = 0; i < entry.size(); i++) {
            out.append(i == 0 ? "  - " : "    ").append(entry.get(i)).append('\n');
          }
        }
      }
      return out.toString();
    }
  }

  /** A path without its trailing slashes, except the root's own: {@code "//"} is {@code "/"}, never empty. */
  static String withoutTrailingSlashes(String path) {
    String trimmed = path.replaceAll("/+$", "");
    return trimmed.isEmpty() && !path.isEmpty() ? "/" : trimmed;
  }
}
