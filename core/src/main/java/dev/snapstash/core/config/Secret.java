package dev.snapstash.core.config;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A reference to a secret: {@code ${env:NAME}} or {@code ${file:/path}}. The value is read only when {@link
 * #reveal()} is called and is never part of {@link #toString()}, so a secret cannot reach a log by accident.
 */
public final class Secret {
  private static final Pattern REF = Pattern.compile("\\$\\{(env|file):([^}]+)}");

  private final String reference;
  private final Function<String, String> env;

  private Secret(String reference, Function<String, String> env) {
    this.reference = reference;
    this.env = env;
  }

  /**
   * Parses a reference. A literal is refused: secrets in configuration files end up in version control, backups
   * and screenshots.
   *
   * @throws SnapstashException (CONFIG) for a literal or malformed reference
   */
  public static Secret parse(String key, String text) {
    return parse(key, text, System::getenv);
  }

  static Secret parse(String key, String text, Function<String, String> env) {
    if (text == null || !REF.matcher(text.strip()).matches()) {
      throw SnapstashException.config(
          key + " must be a secret reference like ${env:NAME} or ${file:/path/to/file}, not a literal value");
    }
    return new Secret(text.strip(), env);
  }

  /** For tests and generated configurations: a secret held in a file. */
  public static Secret ofFile(Path file) {
    return new Secret("${file:" + file.toAbsolutePath() + "}", System::getenv);
  }

  /** For tests: a secret resolved from the given map instead of the process environment. */
  public static Secret ofEnv(String name, Map<String, String> env) {
    return new Secret("${env:" + name + "}", env::get);
  }

  /** The reference text, safe to show. */
  public String reference() {
    return reference;
  }

  /** Whether the referenced secret can be read now (for {@code check}). */
  public String problem() {
    try {
      reveal();
      return null;
    } catch (SnapstashException e) {
      return e.getMessage();
    }
  }

  /** Reads the secret. A file's trailing newline is dropped, as every editor adds one. */
  public String reveal() {
    Matcher m = REF.matcher(reference);
    if (!m.matches()) {
      throw new IllegalStateException("unparsed reference");
    }
    String where = m.group(2).strip();
    if (m.group(1).equals("env")) {
      String v = env.apply(where);
      if (v == null) {
        throw SnapstashException.config("environment variable " + where + " (referenced by " + reference + ") is not set");
      }
      return v;
    }
    try {
      String v = Files.readString(Path.of(where), StandardCharsets.UTF_8);
      return v.endsWith("\r\n") ? v.substring(0, v.length() - 2) : v.endsWith("\n") ? v.substring(0, v.length() - 1) : v;
    } catch (IOException e) {
      throw SnapstashException.config("cannot read secret file " + where + ": " + e.getClass().getSimpleName());
    }
  }

  @Override
  public String toString() {
    return reference;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Secret s && s.reference.equals(reference);
  }

  @Override
  public int hashCode() {
    return Objects.hash(reference);
  }
}
