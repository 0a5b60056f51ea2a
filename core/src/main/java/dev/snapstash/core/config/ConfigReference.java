package dev.snapstash.core.config;

import dev.snapstash.core.config.ConfigKeys.Kind;
import dev.snapstash.core.config.ConfigKeys.Leaf;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;

/**
 * Generates {@code docs/configuration.md}, the reference of every key, from the records and their {@link Key}
 * annotations: the same model the loader reads, so the documentation cannot drift from the behaviour.
 */
public final class ConfigReference {
  /** Where the generated reference is committed, relative to the repository root. */
  public static final String FILE = "docs/configuration.md";

  private ConfigReference() {}

  /** Writes the reference to the given file, or to standard output without an argument. */
  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      System.out.print(markdown());
    } else {
      Files.writeString(Path.of(args[0]), markdown(), StandardCharsets.UTF_8);
    }
  }

  /** The whole reference as Markdown, ending with a newline. */
  public static String markdown() {
    StringBuilder b = new StringBuilder();
    b.append(PREAMBLE.replace("@LAUNCHER@", code(new TreeSet<>(ConfigLoader.LAUNCHER_VARIABLES))));
    List<Leaf> keys = ConfigKeys.walk(SnapstashConfig.class);

    b.append("\n## All keys\n\n");
    b.append("| Key | Type | Default |\n| --- | --- | --- |\n");
    for (Leaf k : keys) {
      b.append("| `")
          .append(k.path())
          .append("` | ")
          .append(k.field().kind().label)
          .append(" | ")
          .append(defaultText(k))
          .append(" |\n");
    }

    for (Leaf k : keys) {
      Key key = k.field().key();
      Kind kind = k.field().kind();
      boolean section = kind == Kind.SECTION || kind == Kind.CHOICE;
      boolean list = kind == Kind.SECTION_LIST || kind == Kind.CHOICE_LIST;
      b.append("\n### `").append(k.path()).append("`\n\n");
      b.append(key.doc()).append("\n\n");
      b.append("| Type | Default | Required | Environment variable |\n| --- | --- | --- | --- |\n");
      b.append("| ")
          .append(k.field().kind().label)
          .append(" | ")
          .append(defaultText(k))
          .append(" | ")
          .append(key.required() ? "yes" : "no")
          .append(" | ")
          .append(section ? "none (set its keys)" : "`" + ConfigKeys.envName(k.path()) + "`")
          .append(" |\n");
      if (section || list) {
        b.append("\nKeys: ")
            .append(
                String.join(
                    ", ",
                    ConfigKeys.entryNames(k.field()).stream()
                        .map(n -> "`" + k.path() + (section ? "." : "[].") + n + "`")
                        .toList()))
            .append(".\n");
      }
    }
    return b.toString();
  }

  private static String defaultText(Leaf k) {
    String def = k.field().key().def();
    // a choice's own default is its type's, shown on its type key
    if (!def.isEmpty() && k.field().kind() != Kind.CHOICE) {
      return "`" + def + "`";
    }
    Kind kind = k.field().kind();
    return (kind == Kind.SECTION || kind == Kind.CHOICE) && !k.field().key().required() ? "its keys' defaults" : "none";
  }

  private static String code(java.util.Collection<String> names) {
    return String.join(", ", names.stream().map(n -> "`" + n + "`").toList());
  }

  private static final String PREAMBLE =
      """
      # Configuration reference

      <!-- Generated from the @Key annotations of SnapstashConfig by ConfigReference; do not edit by hand.
           Regenerate: mvn -o -pl cli -am test -Dtest=ConfigReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -DskipITs
           -Dsnapstash.regenerateDocs=true (in cli, whose classpath holds every module's providers) -->

      snapstash reads one YAML file: `snapstash.yml` in the working directory, or the file given with `-c FILE`.
      A commented example is [`examples/snapstash.yml`](../examples/snapstash.yml).

      ## The file

      - Keys are kebab-case and nested by section (`backup:` then `drain-timeout: 5m` indented below it); this page
        writes them as paths like `backup.drain-timeout`. `notify` is a list; its entries are written `notify[].url`.
      - Unknown keys are errors, with the nearest valid key suggested: `snapstash.yml:12: unknown key disk.rsnyc
        (did you mean disk.rsync?)`.
      - The whole file (and every override) is checked before anything runs, and every problem is reported at once,
        one per line, each naming the file and line, or the environment variable, and the key.
      - An absent key takes its default; an absent section is created, so the defaults of its keys apply. A key
        with an empty value (`key:`, `key: ~` or `key: null`) counts as absent. Required keys are checked after
        defaults and environment overrides.
      - Only one YAML document per file.

      ## Value types

      - **string**, **integer** (whole number), **boolean** (`true` or `false`).
      - **duration**: `100ms`, `30s`, `5m`, `1h`, `2d`, combinations like `1h30m`, or ISO-8601 like `PT5M`. A
        number without a unit is an error, and durations must be longer than zero.
      - **path**: `~` and `~/…` expand to the home directory of the user running snapstash (`~user` is not
        supported). A relative path in the file resolves against the directory that holds the configuration
        file, not the working directory; a relative path in an environment override resolves against the working
        directory, as in a shell.
      - **URL**: an `http` or `https` URL.
      - **list of strings**: a YAML list, either `[a, b]` or one `- a` line per entry.
      - **secret reference**: see below.

      ## Secret references

      Passwords and tokens are never written in the configuration, which ends up in version control, backups and
      screenshots. A secret key holds a reference instead:

      - `${env:NAME}`: the environment variable `NAME`;
      - `${file:/path/to/file}`: the content of the file, without its trailing newline (for Docker and
        Kubernetes secrets, or a file readable only by the backup user).

      Do not name the variables that hold secrets `SNAPSTASH_…`: those are configuration overrides (below).
      A literal value is refused. The reference is only checked for its form when the configuration is loaded;
      the secret itself is read when it is needed (and by `snapstash check`), and never printed or logged.

      ## Environment overrides

      Every key can be set by an environment variable, which wins over the file: `SNAPSTASH_` followed by the key
      path in upper case with `.` and `-` turned into `_`, for example `SNAPSTASH_BACKUP_DRAIN_TIMEOUT=10m` or
      `SNAPSTASH_DATABASE_POSTGRESQL_HOST=db.internal`. Sections have no variable of their own; set their keys.

      - The value is read as a YAML value, so lists are written `[a, b]`. Quote a value with `'…'` if it starts
        with one of YAML's special characters (`@`, `` ` ``, `{`, `[`, `!`, `&`, `*`, `|`, `>`, `%`) or contains
        ` #` or `: ` as text. An empty value is an empty string.
      - A secret key's variable holds a reference too: `SNAPSTASH_INSTANCE_PASSWORD='${env:BB_PASSWORD}'`.
      - Errors in an override name the variable instead of a line.
      - `notify` entries: `SNAPSTASH_NOTIFY_<N>_<KEY>` sets a key of the entry at index `<N>` (counting from 0) of
        the file's list, for example `SNAPSTASH_NOTIFY_0_URL`. An index equal to the number of entries adds a new
        entry (give it at least `_TYPE` and `_URL`); a larger index is an error. `SNAPSTASH_NOTIFY` replaces the
        whole list: `SNAPSTASH_NOTIFY="[{type: webhook, url: 'https://hooks.example.com/x'}]"`.
      - A `SNAPSTASH_*` variable that matches no key is an error, with the nearest valid variable suggested, so a
        typo cannot silently leave the file's value in place. The launcher's own variables are not configuration
        and are ignored: @LAUNCHER@.
      - `SNAPSTASH_NATIVE=off` (or the JVM option `-Dsnapstash.native=off` in `SNAPSTASH_JAVA_OPTS`, which wins
        over the variable) makes the native fast paths take their Java fallbacks: inotify through the JDK's
        WatchService, the change tracker's listing through `java.nio`, SHA-256 through the JDK; the same results,
        slower, and no native library loaded. `auto`, the default, takes each native path where it loads; any
        other value is a configuration error. `snapstash check` says which path each takes, and why.
        `SNAPSTASH_LIB` is the directory holding `snapstash.jar` for the run script `bin/snapstash`.

      ## Strategy sections

      `quiesce.type`, `disk.type` and `database.type` choose a strategy, and each `notify[].type` a notifier. The
      strategies, and so the `type` names and the sections below, are the providers snapstash finds on its class
      path. Only the section of the chosen strategy (for example `database.postgresql` when
      `database.type: postgresql`) is used; every section the file holds is checked, the chosen one's keys take
      their defaults when it is left out, and the sections of strategies that are not chosen may be left out. A
      strategy without settings (`none`) has no section.
      """;
}
