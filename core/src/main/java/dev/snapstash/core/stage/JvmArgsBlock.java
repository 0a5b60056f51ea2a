package dev.snapstash.core.stage;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Atlassian's lockout recovery for the staging copy's first start, written into its start environment file ({@code
 * <installation>/bin/_start-webapp.sh} from Bitbucket 5.0, {@code setenv.sh} before): {@code
 * -Datlassian.recovery.password=<password>} added to {@code JVM_SUPPORT_RECOMMENDED_ARGS} ("Lockout recovery
 * process", step 1), between markers, so that writing it again replaces it and removing it is deleting the block.
 *
 * <p>The block goes right after the file's last line that assigns (or, commented out, would assign) the variable:
 * {@code _start-webapp.sh} uses the variable further down, so a block at its end would come too late; a file
 * without such a line ({@code setenv.sh}-style, sourced before use) gets it at the end. The block appends to the
 * variable's value, keeping what the administrator set there. The password is {@code stage}'s own random
 * recovery password (URL-safe Base64: no character the shell or Atlassian's note on special characters cares about).
 */
public final class JvmArgsBlock {
  public static final String BEGIN = "# >>> snapstash stage: lockout recovery for the first start; remove after it >>>";
  public static final String END = "# <<< snapstash stage <<<";
  private static final Pattern ASSIGNS =
      Pattern.compile("^\\s*#?\\s*(?:export\\s+)?JVM_SUPPORT_RECOMMENDED_ARGS=.*$");
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_-]{16,}");

  private JvmArgsBlock() {}

  /** {@code existing} with the block (and no earlier one) in it; pure. */
  public static String apply(String existing, String password) {
    if (!SAFE.matcher(password).matches()) {
      throw SnapstashException.internal("the recovery password is not URL-safe Base64", null);
    }
    List<String> lines = new ArrayList<>(List.of(without(existing).split("\n", -1)));
    boolean endsWithNewline = !lines.isEmpty() && lines.get(lines.size() - 1).isEmpty();
    if (endsWithNewline) {
      lines.remove(lines.size() - 1);
    }
    int at = lines.size();
    int lastCommented = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (ASSIGNS.matcher(lines.get(i)).matches()) {
        if (lines.get(i).strip().startsWith("#")) {
          lastCommented = i;
        } else {
          at = i + 1;
        }
      }
    }
    if (at == lines.size() && lastCommented >= 0 && !hasLiveAssignment(lines)) {
      at = lastCommented + 1;
    }
    lines.addAll(at, List.of(
        BEGIN,
        "JVM_SUPPORT_RECOMMENDED_ARGS=\"${JVM_SUPPORT_RECOMMENDED_ARGS} -Datlassian.recovery.password=" + password + "\"",
        END));
    return String.join("\n", lines) + "\n";
  }

  private static boolean hasLiveAssignment(List<String> lines) {
    return lines.stream().anyMatch(l -> ASSIGNS.matcher(l).matches() && !l.strip().startsWith("#"));
  }

  /** {@code text} without any block of ours. */
  public static String without(String text) {
    StringBuilder out = new StringBuilder();
    boolean inside = false;
    for (String line : text.split("\n", -1)) {
      if (line.equals(BEGIN)) {
        inside = true;
      } else if (inside && line.equals(END)) {
        inside = false;
      } else if (!inside) {
        out.append(line).append('\n');
      }
    }
    // split() kept the text's last line break as an empty last element, which the loop doubled.
    return out.length() > 0 ? out.substring(0, out.length() - 1) : "";
  }

  /**
   * Writes the block into {@code file}, created (mode 0600, with its directory) when missing, its mode kept
   * otherwise; replaced through a temporary file in the same directory, so the start script is never half written.
   */
  public static void write(Path file, Path passwordFile) {
    try {
      String password = Files.readString(passwordFile, StandardCharsets.UTF_8).strip();
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      String existing = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
      boolean exists = Files.exists(file);
      var mode = exists ? Files.getPosixFilePermissions(file) : PosixFilePermissions.fromString("rw-------");
      var owner = exists ? Files.getOwner(file) : null;
      Path tmp = Files.createTempFile(dir, ".snapstash-jvm-args", ".tmp",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try {
        Files.writeString(tmp, apply(existing, password), StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(tmp, mode);
        if (owner != null && !owner.equals(Files.getOwner(tmp))) {
          // The start script stays its owner's (the bitbucket user's, typically), as an editor would leave it.
          Files.setOwner(tmp, owner);
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw SnapstashException.storage(
          "cannot write the lockout recovery into " + file + " (--apply-jvm-args): " + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : " " + e.getMessage()), e);
    }
  }
}
