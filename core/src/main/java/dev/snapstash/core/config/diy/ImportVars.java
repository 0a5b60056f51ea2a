package dev.snapstash.core.config.diy;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** {@code snapstash import-vars}: reads a DIY vars file (never runs it) and writes the converted configuration. */
public final class ImportVars {
  private ImportVars() {}

  /** Converts {@code file}; a file that cannot be read is one sentence naming it. */
  public static VarsConverter.Conversion convert(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw SnapstashException.precondition(
          "cannot read the vars file " + file + " (" + e.getClass().getSimpleName() + "): give the path of a"
              + " bitbucket.diy-backup.vars.sh or stash.diy-backup.vars.sh");
    }
    return VarsConverter.convert(VarsFile.parse(text), file.getFileName().toString());
  }

  /** Writes {@code yaml} to {@code output}; an existing file is replaced only with {@code force}. */
  public static void write(String yaml, Path output, boolean force) {
    if (Files.exists(output) && !force) {
      throw SnapstashException.precondition(output + " already exists; add --force to overwrite it, or choose another --output");
    }
    Path tmp = null;
    try {
      // written beside it and renamed, so an interrupted write never leaves half a configuration
      tmp = Files.createTempFile(output.toAbsolutePath().getParent(), "." + output.getFileName(), ".tmp");
      Files.writeString(tmp, yaml, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
      Files.move(tmp, output, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // the write failed already; that is the error to report
        }
      }
      throw SnapstashException.storage("cannot write " + output + ": " + e.getMessage(), e);
    }
  }
}
