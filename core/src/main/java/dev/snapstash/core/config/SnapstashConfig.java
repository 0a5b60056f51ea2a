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
 * Strategy sections ({@code database.postgresql}, …) are read only when their strategy is selected by {@code type};
 * the strategy registry validates them.
 */
public record SnapstashConfig(
    @Key(doc = "The Bitbucket instance being backed up.", required = true) Instance instance,
    @Key(doc = "Where and how backups are taken.") Backup backup,
    @Key(doc = "How the instance is made quiet for the copy.") Quiesce quiesce,
    @Key(doc = "How the home directory is copied.") Disk disk,
    @Key(doc = "How the database is copied.") Database database,
    @Key(doc = "Which backups `snapstash prune` (and every backup) keeps.") Retention retention,
    @Key(doc = "How `snapstash verify` checks a backup.") Verify verify,
    @Key(doc = "Where run reports are sent. A list; each entry has its own type.", def = "[]")
        @JsonProperty("notify") List<Notify> notifications) {

  public SnapstashConfig {
    notifications = notifications == null ? List.of() : List.copyOf(notifications);
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

  public record Quiesce(
      @Key(doc = "bitbucket (maintenance lock over REST), command (run commands), or none.", def = "bitbucket")
          String type,
      @Key(doc = "Settings of the `command` quiescer.") CommandQuiesce command) {}

  public record CommandQuiesce(
      @Key(doc = "Command run to quiesce the application, as a list of arguments.") List<String> lock,
      @Key(doc = "Command run to release it, as a list of arguments.") List<String> unlock,
      @Key(doc = "Time limit for each command.", def = "5m") Duration timeout) {}

  public record Disk(
      @Key(
              doc =
                  "rsync (two-phase copy with hard-linked incrementals), btrfs (read-only snapshot of the home"
                      + " subvolume under the lock, copied out after the unlock) or none.",
              def = "rsync")
          String type,
      @Key(doc = "Settings of the `rsync` disk strategy.") Rsync rsync,
      @Key(doc = "Settings of the `btrfs` disk strategy.") Btrfs btrfs) {}

  public record Btrfs(
      @Key(
              doc =
                  "Where the read-only snapshots are made: a directory on the same btrfs filesystem as the home,"
                      + " outside it. Empty means `.snapstash-snapshots` next to the home.",
              def = "")
          String snapshotDirectory,
      @Key(
              doc =
                  "How a snapshot is copied into the backup after the unlock: `send` (btrfs send/receive,"
                      + " incremental against the previous snapshot; the backup root must be on btrfs), `rsync`"
                      + " (from the read-only snapshot to any filesystem, hard-linked against the previous backup),"
                      + " or `auto` (send when the backup root is on btrfs).",
              def = "auto")
          String transfer,
      @Key(
              doc =
                  "Local snapshots kept on the home's filesystem after a good backup, newest first; at least 1,"
                      + " because the newest is the parent of the next incremental send.",
              def = "1")
          int keepSnapshots) {}

  public record Rsync(
      @Key(doc = "Extra exclude patterns (rsync syntax, relative to the home), added to the built-in ones.", def = "[]")
          List<String> excludes,
      @Key(doc = "Hard-link unchanged files against the previous complete backup (--link-dest).", def = "true")
          boolean linkDest,
      @Key(
              doc =
                  "Where `backup.root` is on btrfs (and `link-dest` is on): make each backup's home a btrfs"
                      + " subvolume, a writable snapshot of the previous backup's, so that the pre-copy only"
                      + " compares and rewrites what changed instead of creating a hard link per file.",
              def = "true")
          boolean btrfsClones,
      @Key(doc = "Copy the home while the instance is live before locking, so the locked copy is a small delta.", def = "true")
          boolean preCopy,
      @Key(
              doc =
                  "Watch the home with inotify from before the pre-copy, so the delta under the lock visits only"
                      + " the directories that changed instead of walking the whole home. Off by itself, with the"
                      + " reason logged, where it cannot be trusted: a network or cluster filesystem, too few"
                      + " `fs.inotify.max_user_watches`, an event queue overflow.",
              def = "true")
          boolean trackChanges,
      @Key(
              doc =
                  "rsync commands the pre-copy runs at once, each over its share of the repositories, with one"
                      + " more for the rest of the home; 1 copies with a single rsync. rsync spends most of its"
                      + " time waiting on metadata calls, so a few at once help even on two cores.",
              def = "3")
          int parallel) {}

  public record Database(
      @Key(doc = "postgresql, mysql, h2, collocated, or none.", def = "none") String type,
      @Key(doc = "Settings of the `postgresql` database strategy.") Postgresql postgresql,
      @Key(doc = "Settings of the `mysql` database strategy (MySQL and MariaDB).") Mysql mysql,
      @Key(doc = "Settings of the `h2` database strategy (the embedded evaluation database).") H2 h2,
      @Key(doc = "Settings of the `collocated` database strategy.") Collocated collocated) {}

  public record Postgresql(
      @Key(doc = "Database server host.", def = "127.0.0.1") String host,
      @Key(doc = "Database server port.", def = "5432") int port,
      @Key(doc = "Database name.", def = "bitbucket") String database,
      @Key(doc = "Database user.", def = "bitbucket") String username,
      @Key(doc = "Database password.", secret = true) Secret password,
      @Key(doc = "Parallel jobs for pg_dump and pg_restore; at least 1.", def = "2") int jobs,
      @Key(doc = "Directory holding pg_dump and pg_restore; empty means PATH.", def = "") String binDir,
      @Key(
              doc =
                  "Pin a snapshot of the database under the lock (pg_export_snapshot) and run pg_dump from it after"
                      + " the unlock, so the lock window does not grow with the database. The dump is as consistent"
                      + " as one taken under the lock.",
              def = "true")
          boolean dumpAfterUnlock) {}

  public record Mysql(
      @Key(doc = "Database server host.", def = "127.0.0.1") String host,
      @Key(doc = "Database server port.", def = "3306") int port,
      @Key(doc = "Database name.", def = "bitbucket") String database,
      @Key(doc = "Database user.", def = "bitbucket") String username,
      @Key(doc = "Database password.", secret = true) Secret password) {}

  public record H2(
      @Key(doc = "JDBC URL of the H2 database (use AUTO_SERVER=TRUE so it can be read while Bitbucket runs).")
          String url,
      @Key(doc = "Database user.", def = "sa") String username,
      @Key(doc = "Database password.", secret = true) Secret password) {}

  public record Collocated(
      @Key(doc = "The database's data directory, which must lie inside the copied home or volume.")
          Path dataDirectory) {}

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

  public record Notify(
      @Key(doc = "webhook (Slack/Mattermost/Teams-compatible JSON) or hipchat (HipChat v2 room notification).", required = true)
          String type,
      @Key(doc = "Where to POST the notification.", required = true) URI url,
      @Key(doc = "Bearer token sent as the Authorization header, if the endpoint needs one.", secret = true)
          Secret token,
      @Key(doc = "Send on success.", def = "true") boolean onSuccess,
      @Key(doc = "Send on failure.", def = "true") boolean onFailure,
      @Key(doc = "HipChat only: ask HipChat to notify the room's members.", def = "false") boolean notifyRoom) {}
}
