package dev.snapstash.strategy.archive.tar;

import com.exceptionfactory.jagged.RecipientStanzaWriter;
import com.exceptionfactory.jagged.x25519.X25519RecipientStanzaWriterFactory;
import dev.snapstash.core.config.Rules;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveProvider;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.Undo;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/** {@code archive[].type: tar}. */
public final class TarProvider implements ArchiveProvider<TarSettings> {
  @Override
  public String name() {
    return "tar";
  }

  @Override
  public String summary() {
    return "one `.tar.zst` file per backup in a directory (another disk, a mounted share), optionally encrypted to age"
        + " recipients; readable with `tar --zstd -x` (and `age -d`)";
  }

  @Override
  public Class<TarSettings> settingsType() {
    return TarSettings.class;
  }

  @Override
  public Map<String, UnaryOperator<Object>> rules() {
    return Map.of("level", Rules.between(1, 19), "workers", Rules.atLeast(0));
  }

  @Override
  public ArchiveStrategy create(TarSettings s, Services services) {
    List<RecipientStanzaWriter> recipients = new ArrayList<>();
    for (String r : s.recipients()) {
      try {
        recipients.add(X25519RecipientStanzaWriterFactory.newRecipientStanzaWriter(r.strip()));
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        throw SnapstashException.config(
            "archive[].recipients: '" + r + "' is not an age X25519 public key (age1…, as age-keygen -y prints it)");
      }
    }
    return new TarArchiveStrategy(s.path(), s.level(), s.workers(), recipients, s.identity());
  }

  @Override
  public Map<String, Class<? extends Undo>> undoTypes() {
    return Map.of(RemovePartialArchive.NAME, RemovePartialArchive.class);
  }
}
