package dev.snapstash.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the sandbox reads from its start environment file, {@code bin/_start-webapp.sh} in its directory, as
 * Bitbucket's start script does from {@code <installation>/bin/_start-webapp.sh} (5.0 and later; {@code setenv.sh}
 * before): the {@code JVM_SUPPORT_RECOMMENDED_ARGS} it would hand to the JVM. Bitbucket itself reads only the JVM
 * system property; the sandbox has no start script of its own and runs inside other JVMs (the tests'), so it reads
 * the file the script would have read, and a property set there is never one of the whole test JVM.
 *
 * <p>Shell semantics, as far as an assignment goes: the value starts as the environment's (Atlassian's comment in
 * the file: uncommenting the line overrides it), each assignment replaces it, {@code $JVM_SUPPORT_RECOMMENDED_ARGS}
 * and {@code ${JVM_SUPPORT_RECOMMENDED_ARGS}} expand to the value so far, quotes are removed from the assignment,
 * and the result is split at white space without quote removal, as the script's unquoted expansion is. The last
 * {@code -D} of a name wins, as on a java command line.
 */
public final class StartEnvironment {
  /** Bitbucket's lockout recovery property. */
  public static final String RECOVERY_PROPERTY = "atlassian.recovery.password";

  private static final String VAR = "JVM_SUPPORT_RECOMMENDED_ARGS";
  private static final Pattern ASSIGNMENT = Pattern.compile("^\\s*(?:export\\s+)?" + VAR + "=(.*)$");

  private StartEnvironment() {}

  /** The lockout recovery password the file (and the environment) set, or null when none or blank. */
  public static String recoveryPassword(Path file, String environmentValue) {
    String args = jvmArgs(file, environmentValue);
    String found = null;
    for (String word : args.trim().split("\\s+")) {
      if (word.startsWith("-D" + RECOVERY_PROPERTY + "=")) {
        found = word.substring(RECOVERY_PROPERTY.length() + 3);
      }
    }
    return found == null || found.isBlank() ? null : found;
  }

  /** {@code JVM_SUPPORT_RECOMMENDED_ARGS} after the file's assignments, starting from the environment's value. */
  static String jvmArgs(Path file, String environmentValue) {
    String value = environmentValue == null ? "" : environmentValue;
    if (!Files.isRegularFile(file)) {
      return value;
    }
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the start environment file " + file, e);
    }
    for (String line : text.split("\n", -1)) {
      Matcher m = ASSIGNMENT.matcher(line);
      if (m.matches()) {
        value = word(m.group(1), value);
      }
    }
    return value;
  }

  /** One shell word: quotes removed, the variable expanded, ending at unquoted white space or a comment. */
  static String word(String s, String previous) {
    StringBuilder out = new StringBuilder();
    char quote = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (quote == '\'') {
        if (c == '\'') {
          quote = 0;
        } else {
          out.append(c);
        }
        continue;
      }
      if (quote == 0 && (Character.isWhitespace(c) || c == '#' || c == ';')) {
        break;
      }
      if (c == '"') {
        quote = quote == '"' ? 0 : '"';
      } else if (c == '\'' && quote == 0) {
        quote = '\'';
      } else if (c == '\\' && i + 1 < s.length()) {
        out.append(s.charAt(++i));
      } else if (c == '$' && s.startsWith("{" + VAR + "}", i + 1)) {
        out.append(previous);
        i += VAR.length() + 2;
      } else if (c == '$' && s.startsWith(VAR, i + 1)) {
        out.append(previous);
        i += VAR.length();
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
