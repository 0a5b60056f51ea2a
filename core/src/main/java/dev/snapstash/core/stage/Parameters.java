package dev.snapstash.core.stage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The values rules read as {@code ${name}}: the staging base URL, server id, database URL, mail sink, licence. A
 * secret one (the licence) is bound into statements but never shown: the audit and the plan print {@value
 * #REDACTED}.
 */
public final class Parameters {
  public static final String REDACTED = "<redacted>";
  private static final Pattern REFERENCE = Pattern.compile("\\$\\{([a-z0-9-]+)}");

  /** The staging file's key each parameter comes from, for "needs KEY" messages. */
  private static final Map<String, String> KEYS =
      Map.of(
          "base-url", "instance.base-url",
          "server-id", "instance.base-url",
          "staging-jdbc-url", "database.<type>",
          "mail-sink", "stage.mail-sink",
          "mail-sink-host", "stage.mail-sink",
          "mail-sink-port", "stage.mail-sink",
          "license", "stage.license-file");

  private final Map<String, String> values;
  private final Set<String> secret;

  public Parameters(Map<String, String> values, Set<String> secret) {
    this.values = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(values));
    this.secret = Set.copyOf(secret);
  }

  /** The parameters of a refresh; {@code mailSink} and {@code license} may be null or empty (not set). */
  public static Parameters of(String baseUrl, String stagingJdbcUrl, String mailSink, String license) {
    Map<String, String> v = new LinkedHashMap<>();
    v.put("base-url", baseUrl);
    v.put("server-id", serverId(baseUrl));
    v.put("staging-jdbc-url", stagingJdbcUrl);
    if (mailSink != null && !mailSink.isBlank()) {
      v.put("mail-sink", mailSink);
      int colon = mailSink.lastIndexOf(':');
      v.put("mail-sink-host", mailSink.substring(0, colon));
      v.put("mail-sink-port", mailSink.substring(colon + 1));
    }
    if (license != null && !license.isBlank()) {
      v.put("license", license.strip());
    }
    return new Parameters(v, Set.of("license"));
  }

  static String keyOf(String name) {
    return KEYS.getOrDefault(name, "parameter " + name);
  }

  public boolean has(String name) {
    return values.containsKey(name);
  }

  String value(String name) {
    String v = values.get(name);
    if (v == null) {
      throw new IllegalStateException("parameter " + name + " is not set");
    }
    return v;
  }

  /** Each parameter as the audit shows it: secret ones redacted. */
  public Map<String, String> shown() {
    Map<String, String> out = new LinkedHashMap<>();
    values.forEach((k, v) -> out.put(k, secret.contains(k) ? REDACTED : v));
    return out;
  }

  boolean isSecret(String name) {
    return secret.contains(name);
  }

  /** {@code text} with every reference replaced by its value (for property values and expected results). */
  String substitute(String text) {
    return replace(text, m -> value(m));
  }

  /** {@code text} as shown: secret references stay {@code ${name}}, and values that contain a secret are redacted. */
  String show(String text) {
    return replace(text, m -> secret.contains(m) ? "${" + m + "}" : value(m));
  }

  /** A statement with each reference (but {@code ${table}}) turned into {@code ?}, and the values to bind in order. */
  record Bound(String sql, List<String> values) {}

  Bound bind(String sql) {
    java.util.ArrayList<String> bound = new java.util.ArrayList<>();
    String text = replace(sql, m -> {
      bound.add(value(m));
      return "?";
    });
    return new Bound(text, List.copyOf(bound));
  }

  private static String replace(String text, java.util.function.Function<String, String> f) {
    Matcher m = REFERENCE.matcher(text);
    StringBuilder b = new StringBuilder();
    while (m.find()) {
      // ${table} is the runner's, filled in per table before a statement is bound.
      String name = m.group(1);
      m.appendReplacement(b, Matcher.quoteReplacement(name.equals("table") ? m.group() : f.apply(name)));
    }
    m.appendTail(b);
    return b.toString();
  }

  /**
   * A server id for the staging copy in Bitbucket's shape (four groups of four upper-case letters and digits),
   * derived from the staging base URL: never production's, and the same on every refresh, so that refreshing twice
   * gives the same result.
   */
  static String serverId(String baseUrl) {
    byte[] h;
    try {
      h = java.security.MessageDigest.getInstance("SHA-256")
          .digest(("snapstash-staging:" + baseUrl).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 16; i++) {
      if (i > 0 && i % 4 == 0) {
        b.append('-');
      }
      b.append(alphabet.charAt((h[i] & 0xff) % alphabet.length()));
    }
    return b.toString();
  }
}
