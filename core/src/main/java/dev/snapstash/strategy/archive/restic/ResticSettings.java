package dev.snapstash.strategy.archive.restic;

import dev.snapstash.core.config.Key;
import dev.snapstash.core.config.Secret;
import java.nio.file.Path;
import java.util.List;

/** The keys of a {@code restic} entry of {@code archive}. */
public record ResticSettings(
    @Key(
            doc =
                "The restic repository: a local path (another disk, a mounted share) or any location restic itself"
                    + " accepts (`s3:https://host/bucket/prefix`, `sftp:…`, `rest:…`), passed to restic as"
                    + " `RESTIC_REPOSITORY`, never on its command line. It must exist (`restic init`) unless"
                    + " `init` is true.",
            required = true)
        String repository,
    @Key(
            doc =
                "The repository's password, as a secret reference such as `${file:/etc/snapstash/restic-password}`."
                    + " It reaches restic only through `RESTIC_PASSWORD_FILE`, a private file (0600) deleted after"
                    + " each command.",
            required = true,
            secret = true)
        Secret password,
    @Key(doc = "The `restic` command: a name looked up on PATH, or an absolute path.", def = "restic") String binary,
    @Key(
            doc =
                "Tags added to every snapshot besides `snapstash` and the backup's tag (for the repository's other"
                    + " users); they must not contain commas.",
            def = "[]")
        List<String> tags,
    @Key(
            doc =
                "Create the repository (`restic init`) when it does not exist yet. Off by default, so that a mistyped"
                    + " path is an error, not a new empty repository.",
            def = "false")
        boolean init,
    @Key(
            doc =
                "restic's local cache directory (`--cache-dir`); empty means restic's own default"
                    + " (`~/.cache/restic`). The cache holds metadata only, and makes listing a remote repository fast.")
        Path cacheDir) {
  public ResticSettings {
    tags = tags == null ? List.of() : List.copyOf(tags);
    binary = binary == null || binary.isBlank() ? "restic" : binary;
  }
}
