package dev.snapstash.strategy.archive.tar;

import dev.snapstash.core.config.Key;
import dev.snapstash.core.config.Secret;
import java.nio.file.Path;
import java.util.List;

/** The keys of a {@code tar} entry of {@code archive}. */
public record TarSettings(
    @Key(
            doc =
                "The directory the archives are written to (another disk, a mounted NFS or SMB share). It must exist;"
                    + " each backup becomes one `<tag>.tar.zst` (`.tar.zst.age` when encrypted) with its SHA-256"
                    + " in `<file>.sha256` beside it.",
            required = true)
        Path path,
    @Key(doc = "The zstd compression level, 1 (fastest) to 19 (smallest).", def = "3") int level,
    @Key(
            doc =
                "zstd compression threads; 0 uses every processor. Compression runs after the unlock, so it competes"
                    + " with the instance, not with its downtime.",
            def = "0")
        int workers,
    @Key(
            doc =
                "age X25519 public keys (`age1…`) to encrypt each archive to; empty writes it unencrypted. Any one of"
                    + " the matching identities decrypts it (`age -d -i KEY`).",
            def = "[]")
        List<String> recipients,
    @Key(
            doc =
                "The age identity (the `AGE-SECRET-KEY-1…` line `age-keygen` writes) that decrypts the archives,"
                    + " as a secret reference such as `${file:/etc/snapstash/age-identity.txt}`. Needed only to"
                    + " restore or verify an encrypted archive; keep it off the backed-up host if you can.",
            secret = true)
        Secret identity) {
  public TarSettings {
    recipients = recipients == null ? List.of() : List.copyOf(recipients);
  }
}
