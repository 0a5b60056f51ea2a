package dev.snapstash.core.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The whole configuration, read from one YAML file (kebab-case keys) by {@link ConfigLoader}, with environment
 * overrides, and validated before anything runs. Immutable.
 *
 * <p>Every key is documented by its {@link Key} annotation; {@code docs/configuration.md} is generated from them.
 * The strategy sections ({@code quiesce}, {@code disk}, {@code database}, {@code notify}, {@code archive}) are {@link Choice}s: their
 * keys are those the providers of each kind declare ({@link dev.snapstash.core.spi.Provider}), so a strategy added
 * to the class path brings its own keys and this record does not change.
 */
public record SnapstashConfig(
    @Key(doc = "The Bitbucket instance being backed up.", required = true) Instance instance,
    @Key(doc = "Where and how backups are taken.") Backup backup,
    @Key(doc = "How the instance is made quiet for the copy.", def = "bitbucket", strategies = "quiesce") Choice quiesce,
    @Key(doc = "How the home directory is copied.", def = "rsync", strategies = "disk") Choice disk,
    @Key(doc = "How the database is copied.", def = "none", strategies = "database") Choice database,
    @Key(doc = "Which backups `snapstash prune` (and every backup) keeps.") Retention retention,
    @Key(doc = "How `snapstash verify` checks a backup.") Verify verify,
    @Key(doc = "Where run reports are sent. A list; each entry has its own type.", def = "[]", strategies = "notify")
        @JsonProperty("notify") List<Choice> notifications,
    @Key(
            doc =
                "Where each complete backup is copied after the unlock (off-site copies). A list; each entry has a"
                    + " name, its own retention, and its type's keys. A copy that fails leaves the local backup"
                    + " complete and ends the run with exit code 12.",
            def = "[]",
            strategies = "archive",
            common = Destination.class)
        @JsonProperty("archive") List<Choice> archives,
    @Key(
            doc =
                "How `snapstash stage` sanitises a staging copy. Read only from the file given to `stage"
                    + " --staging`, whose other sections describe the staging instance (its home, base URL and"
                    + " database); see docs/staging.md.")
        Stage stage,
    @Key(doc = "Prometheus metrics of every backup, verify and prune, for node_exporter's textfile collector.")
        Metrics metrics) {

  public SnapstashConfig {
    notifications = notifications == null ? List.of() : List.copyOf(notifications);
    archives = archives == null ? List.of() : List.copyOf(archives);
    java.util.Set<String> names = new java.util.HashSet<>();
    for (Choice a : archives) {
      Destination d = a == null ? null : a.common(Destination.class);
      if (d != null && !names.add(d.name())) {
        throw new IllegalArgumentException(
            "archive: two entries are named '" + d.name() + "'; give each archive[].name its own name");
      }
    }
  }

  /**
   * The keys every entry of {@code archive} holds, whatever its type: how the destination is called (in {@code
   * list --from}, {@code restore --from}, reports) and which copies it keeps.
   */
  public record Destination(
      @Key(
              doc =
                  "The destination's name, as `list --from` and `restore --from` take it: 1 to 64 letters, digits,"
                      + " '.', '_' or '-', starting with a letter or a digit; unique among the entries.",
              required = true)
          String name,
      @Key(doc = "Keep the newest N copies here (0 = no rule).", def = "0") int keepLast,
      @Key(doc = "Keep the newest copy of each of the last N days here.", def = "0") int keepDaily,
      @Key(doc = "Keep the newest copy of each of the last N ISO weeks here.", def = "0") int keepWeekly,
      @Key(doc = "Keep the newest copy of each of the last N months here.", def = "0") int keepMonthly) {
    public Destination {
      if (name != null && !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
        throw new IllegalArgumentException(
            "archive[].name '" + name + "' must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter"
                + " or a digit");
      }
    }
  }

  /** This configuration with {@code database} chosen instead (a restore pointed at another database). */
  public SnapstashConfig withDatabase(Choice database) {
    return new SnapstashConfig(
        instance, backup, quiesce, disk, database, retention, verify, notifications, archives, stage, metrics);
  }

  /** This configuration with {@code backup} instead (a staging file reads production's backups). */
  public SnapstashConfig withBackup(Backup backup) {
    return new SnapstashConfig(
        instance, backup, quiesce, disk, database, retention, verify, notifications, archives, stage, metrics);
  }

  public record Instance(
      @Key(
              doc =
                  "A name for the instance, used as the tag prefix (`<name>-<yyyyMMdd-HHmmss>`): 1 to 99"
                      + " letters, digits, '.', '_' or '-', without spaces, starting with a letter, a digit or '_'.",
              required = true)
          String name,
      @Key(
              doc =
                  "The Bitbucket base URL, for example `https://bitbucket.example.com` or, behind a context path,"
                      + " `https://host/bitbucket`; a trailing '/' is removed. No user or password in it: those are"
                      + " instance.username and instance.password. An http URL that redirects to https on the same"
                      + " host is followed, with a warning to set the https one.")
          URI baseUrl,
      @Key(doc = "A Bitbucket user with the SYSADMIN permission.") String username,
      @Key(doc = "That user's password. Excludes instance.token.", secret = true) Secret password,
      @Key(
              doc =
                  "A personal or HTTP access token sent as HTTP Bearer instead of instance.password. Bitbucket never"
                      + " gives a token SYSADMIN, so it cannot lock the instance: it serves quiesce types none and"
                      + " command, where snapstash only reads the instance's version and state.",
              secret = true)
          Secret token,
      @Key(doc = "The Bitbucket home directory ($BITBUCKET_HOME).", required = true) Path home,
      @Key(
              doc =
                  "A PEM file of the CA certificates (or the self-signed certificate) to trust for instance.base-url,"
                      + " instead of the JVM's trust store, like curl's --cacert.")
          Path caFile,
      @Key(doc = "A PKCS12 or JKS trust store to use instead of the JVM's; excludes instance.ca-file.")
          Path truststore,
      @Key(doc = "The password of instance.truststore, if it has one.", secret = true) Secret truststorePassword,
      @Key(
              doc =
                  "Trust any certificate for any host name. Only for a first try against a self-signed"
                      + " certificate: anyone on the path can then read the credentials. Warned about on every run;"
                      + " set instance.ca-file instead.",
              def = "false")
          boolean insecure,
      @Key(
              doc =
                  "The HTTP proxy for instance.base-url, like `http://proxy.example.com:3128`, or `none` for a direct"
                      + " connection. Empty takes the environment's, as curl does: https_proxy or HTTPS_PROXY,"
                      + " http_proxy (lower case only), all_proxy; NO_PROXY (or no_proxy) always applies.",
              def = "")
          String proxy) {
    public Instance {
      if (password != null && token != null) {
        throw new IllegalArgumentException(
            "instance.password and instance.token exclude each other: a token is sent instead of the password;"
                + " set one");
      }
      if (caFile != null && truststore != null) {
        throw new IllegalArgumentException("instance.ca-file and instance.truststore exclude each other; set one");
      }
      if (insecure && (caFile != null || truststore != null)) {
        throw new IllegalArgumentException(
            "instance.insecure turns certificate checks off, so instance.ca-file and instance.truststore would be"
                + " ignored; remove instance.insecure");
      }
      if (truststorePassword != null && truststore == null) {
        throw new IllegalArgumentException("instance.truststore-password is set without instance.truststore");
      }
    }
  }

  public record Backup(
      @Key(doc = "The directory that holds one sub-directory per backup.", required = true) Path root,
      @Key(doc = "How long to wait for the instance to drain after locking before giving up.", def = "5m")
          Duration drainTimeout,
      @Key(doc = "First pause between drain polls; it grows by a quarter each poll, to at most 500ms.", def = "25ms")
          Duration pollInterval,
      @Key(doc = "Timeout for each REST call to the instance.", def = "30s") Duration requestTimeout,
      @Key(
              doc =
                  "How long one REST call may wait, in all, while Bitbucket's rate limiting answers HTTP 429; each"
                      + " wait is as long as its Retry-After says.",
              def = "2m")
          Duration rateLimitWait,
      @Key(doc = "Extra free space required beyond the estimated backup size, in MiB; not negative.", def = "256")
          long freeSpaceMarginMib,
      @Key(
              doc =
                  "A group (name or numeric gid) allowed to read backups, such as a monitoring or off-site copy"
                      + " user's. Without it, snapstash makes the backup root (when it creates it), each backup"
                      + " directory and its own files in them (manifest, checksums, database dump) 0700 and 0600;"
                      + " with it, 0750 and 0640 in that group. Never write access: a root writable by its group is"
                      + " refused. The copy of the home keeps the home's own modes and owners, which a restore gives"
                      + " back, so the group reads it only as far as those let it. Every backup gives the backups"
                      + " already there these modes too.")
          String group) {}

  public record Retention(
      @Key(doc = "Keep the newest N complete backups (0 = no rule).", def = "0") int keepLast,
      @Key(doc = "Keep the newest backup of each of the last N days.", def = "0") int keepDaily,
      @Key(doc = "Keep the newest backup of each of the last N ISO weeks.", def = "0") int keepWeekly,
      @Key(doc = "Keep the newest backup of each of the last N months.", def = "0") int keepMonthly,
      @Key(doc = "Apply retention after every successful backup.", def = "false") boolean afterBackup) {}

  public record Verify(
      @Key(
              doc =
                  "How long the full `git fsck` of `snapstash verify --deep` (every object of every repository"
                      + " read) may take in all. When it runs out, no further fsck starts and the running ones are"
                      + " stopped; how many repositories were checked is reported in the text, the JSON and the"
                      + " manifest, and the unchecked rest is not a failure. The next deep verification of the same"
                      + " backup starts with the repositories this one did not reach. `verify --fsck-budget`"
                      + " overrides it.",
              def = "1h")
          Duration fsckBudget) {}

  public record Stage(
      @Key(
              doc =
                  "A YAML file of the administrator's own sanitising rules, run after the shipped ones, in the same"
                      + " format (docs/staging.md).")
          Path rulesFile,
      @Key(
              doc =
                  "Ids of shipped rules that are disabled by default to run anyway (each says why it is disabled),"
                      + " such as `mirror-settings-8x`.",
              def = "[]")
          List<String> enableRules,
      @Key(doc = "Ids of rules not to run. The audit lists them as skipped.", def = "[]") List<String> skipRules,
      @Key(
              doc =
                  "Where the staging copy's mail goes, `HOST:PORT` of a mail sink such as MailHog; rules read it as"
                      + " `${mail-sink}`, `${mail-sink-host}` and `${mail-sink-port}`. Empty: mail rules that need it"
                      + " are skipped.",
              def = "")
          String mailSink,
      @Key(
              doc =
                  "A file holding a development licence to apply (`app_property` `license`). Never printed; the"
                      + " audit shows it redacted. Empty: production's licence stays.")
          Path licenseFile,
      @Key(
              doc =
                  "Where the audit of each refresh is written (`stage-<tag>-<time>.json` and `.txt`). Default: the"
                      + " directory that holds instance.home.")
          Path auditDir,
      @Key(doc = "The hosts file `stage --apply-hosts` writes its block into.", def = "/etc/hosts") Path hostsFile,
      @Key(
              doc =
                  "The address production's host names are sent to in the hosts block: by default 192.0.2.1, from"
                      + " TEST-NET-1 (RFC 5737), which no network routes.",
              def = "192.0.2.1")
          String hostsAddress) {
    public Stage {
      enableRules = enableRules == null ? List.of() : List.copyOf(enableRules);
      skipRules = skipRules == null ? List.of() : List.copyOf(skipRules);
      mailSink = mailSink == null ? "" : mailSink.strip();
      if (!mailSink.isEmpty() && !mailSink.matches("[A-Za-z0-9.\\-]+:[0-9]{1,5}")) {
        throw new IllegalArgumentException("stage.mail-sink must be HOST:PORT, like mailhog.internal:1025");
      }
    }
  }

  public record Metrics(
      @Key(
              doc =
                  "The file the metrics are written to, in node_exporter's textfile directory (its"
                      + " --collector.textfile.directory), ending in `.prom`, for example"
                      + " `/var/lib/node_exporter/textfile_collector/snapstash.prom`. Written after every backup,"
                      + " verify and prune, whether it succeeded or not, by rename, readable by all (it holds no"
                      + " secret); several instances may share it. A file that cannot be written is a warning, never"
                      + " a failed run. Unset: no metrics. See docs/operations.md.")
          Path textfile) {
    public Metrics {
      if (textfile != null && !textfile.getFileName().toString().endsWith(".prom")) {
        throw new IllegalArgumentException(
            "metrics.textfile " + textfile + " must end in .prom, or node_exporter's textfile collector ignores it");
      }
    }
  }
}
