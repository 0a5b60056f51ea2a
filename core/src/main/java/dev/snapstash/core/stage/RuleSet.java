package dev.snapstash.core.stage;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The rules a refresh runs: the set shipped with snapstash ({@value #SHIPPED}), then the administrator's own file,
 * and for each whether it runs for this backup and these parameters, and if not, why. Reads and decides; changes
 * nothing.
 */
public final class RuleSet {
  /** The shipped rules, versioned by file name: a changed meaning gets a new file, so an audit names what ran. */
  public static final String SHIPPED = "stage/rules-v1.yml";

  public static final int FORMAT = 1;

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .setPropertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  private static final Pattern PARAMETER = Pattern.compile("\\$\\{([a-z0-9-]+)}");

  /** A rule and where it came from ({@value #SHIPPED} or the administrator's file). */
  public record Entry(SanitiseRule rule, String source) {}

  /**
   * What becomes of one rule in this refresh.
   *
   * @param runs whether it runs
   * @param reason why not, when it does not
   */
  public record Decision(Entry entry, boolean runs, String reason) {}

  private final List<Entry> entries;

  private RuleSet(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  public List<Entry> entries() {
    return entries;
  }

  /** The shipped rules, then those of {@code ownFile} (may be null). CONFIG for a bad file, naming the rule. */
  public static RuleSet load(Path ownFile) {
    List<Entry> all = new ArrayList<>();
    try (InputStream in = RuleSet.class.getClassLoader().getResourceAsStream(SHIPPED)) {
      if (in == null) {
        throw SnapstashException.internal("the shipped rules " + SHIPPED + " are missing from the class path", null);
      }
      for (SanitiseRule r : parse(in.readAllBytes(), SHIPPED).rules()) {
        all.add(new Entry(r, SHIPPED));
      }
    } catch (IOException e) {
      throw SnapstashException.internal("cannot read the shipped rules " + SHIPPED, e);
    }
    if (ownFile != null) {
      byte[] bytes;
      try {
        bytes = Files.readAllBytes(ownFile);
      } catch (IOException e) {
        throw new SnapstashException(ErrorKind.CONFIG, "cannot read stage.rules-file " + ownFile + ": " + e.getMessage());
      }
      for (SanitiseRule r : parse(bytes, ownFile.toString()).rules()) {
        all.add(new Entry(r, ownFile.toString()));
      }
    }
    Set<String> ids = new HashSet<>();
    for (Entry e : all) {
      if (!ids.add(e.rule().id())) {
        throw new SnapstashException(ErrorKind.CONFIG,
            e.source() + ": rule id " + e.rule().id() + " is used twice; give each rule its own id");
      }
    }
    return new RuleSet(all);
  }

  static SanitiseRule.File parse(byte[] yaml, String source) {
    SanitiseRule.File file;
    try {
      file = YAML.readValue(yaml, SanitiseRule.File.class);
    } catch (IOException e) {
      String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
      throw new SnapstashException(ErrorKind.CONFIG, source + ": not a valid rule file: " + m);
    }
    if (file == null || file.format() != FORMAT) {
      throw new SnapstashException(ErrorKind.CONFIG, source + ": format must be " + FORMAT);
    }
    for (SanitiseRule r : file.rules()) {
      String where = source + ": rule " + r.id();
      if (r.id() == null || !ID.matcher(r.id()).matches()) {
        throw new SnapstashException(ErrorKind.CONFIG,
            source + ": rule id '" + r.id() + "' must be 1 to 63 lower-case letters, digits and '-'");
      }
      if (r.description() == null || r.description().isBlank()) {
        throw new SnapstashException(ErrorKind.CONFIG, where + " needs a description");
      }
      if (r.verify() == null) {
        throw new SnapstashException(ErrorKind.CONFIG, where + " needs a verify section: a rule that cannot be checked is not run");
      }
      if (r.verify().sql() != null && r.verify().expect() == null) {
        throw new SnapstashException(ErrorKind.CONFIG, where + ": verify.sql needs verify.expect");
      }
      Versions.parse(r.bitbucket(), where);
    }
    return file;
  }

  /**
   * Which rules run for a backup of Bitbucket {@code version} (null when unknown) with {@code parameters}: a rule
   * runs unless it is skipped by name, disabled and not enabled by name, outside its versions, or missing a
   * parameter.
   */
  public List<Decision> decide(String version, Parameters parameters, List<String> enable, List<String> skip) {
    Set<String> known = new HashSet<>();
    entries.forEach(e -> known.add(e.rule().id()));
    for (String id : concat(enable, skip)) {
      if (!known.contains(id)) {
        throw new SnapstashException(ErrorKind.CONFIG,
            "stage.enable-rules or stage.skip-rules names rule " + id + ", which no rule file defines");
      }
    }
    List<Decision> out = new ArrayList<>();
    for (Entry e : entries) {
      SanitiseRule r = e.rule();
      String reason = null;
      if (skip.contains(r.id())) {
        reason = "skipped by stage.skip-rules";
      } else if (!r.isEnabled() && !enable.contains(r.id())) {
        reason = "disabled by default (see its description); stage.enable-rules runs it";
      } else if (!Versions.parse(r.bitbucket(), r.id()).contains(version)) {
        reason = version == null
            ? "applies to Bitbucket " + r.bitbucket() + ", and the backup does not record its version"
            : "applies to Bitbucket " + r.bitbucket() + ", not " + version;
      } else {
        for (String p : needed(r)) {
          if (!parameters.has(p)) {
            reason = "needs " + Parameters.keyOf(p) + ", which is not set";
            break;
          }
        }
      }
      out.add(new Decision(e, reason == null, reason));
    }
    return out;
  }

  /** Every parameter a rule uses: those it declares, and every {@code ${name}} in its SQL, edits and checks. */
  static Set<String> needed(SanitiseRule r) {
    Set<String> out = new java.util.LinkedHashSet<>(r.requires());
    List<String> texts = new ArrayList<>(r.sql());
    if (r.properties() != null) {
      texts.addAll(r.properties().set().values());
    }
    if (r.verify() != null) {
      if (r.verify().sql() != null) {
        texts.add(r.verify().sql());
      }
      if (r.verify().expect() != null) {
        texts.add(r.verify().expect());
      }
      texts.addAll(r.verify().equal().values());
    }
    for (String t : texts) {
      Matcher m = PARAMETER.matcher(t);
      while (m.find()) {
        if (!m.group(1).equals("table")) {
          out.add(m.group(1));
        }
      }
    }
    return out;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  /** A version range: space-separated {@code >=X}, {@code >X}, {@code <=X}, {@code <X}, or {@code *}. */
  record Versions(List<String[]> bounds) {
    static Versions parse(String text, String where) {
      List<String[]> out = new ArrayList<>();
      if (!text.strip().equals("*")) {
        for (String part : text.strip().split("\\s+")) {
          Matcher m = Pattern.compile("(>=|<=|>|<)([0-9]+(\\.[0-9]+)*)").matcher(part);
          if (!m.matches()) {
            throw new SnapstashException(ErrorKind.CONFIG,
                where + ": bitbucket '" + text + "' must be '*' or bounds like '>=5.0 <8.0'");
          }
          out.add(new String[] {m.group(1), m.group(2)});
        }
      }
      return new Versions(out);
    }

    boolean contains(String version) {
      if (bounds.isEmpty()) {
        return true;
      }
      if (version == null || !version.matches("[0-9]+(\\.[0-9]+)*.*")) {
        return false;
      }
      String numeric = version.replaceFirst("^([0-9]+(\\.[0-9]+)*).*", "$1");
      for (String[] b : bounds) {
        int c = compare(numeric, b[1]);
        boolean ok = switch (b[0]) {
          case ">=" -> c >= 0;
          case ">" -> c > 0;
          case "<=" -> c <= 0;
          default -> c < 0;
        };
        if (!ok) {
          return false;
        }
      }
      return true;
    }

    /** Compares dotted numbers, missing parts as 0: 7.21 = 7.21.0 < 7.21.5 < 8.0. */
    static int compare(String a, String b) {
      String[] x = a.split("\\.");
      String[] y = b.split("\\.");
      for (int i = 0; i < Math.max(x.length, y.length); i++) {
        long p = i < x.length ? Long.parseLong(x[i]) : 0;
        long q = i < y.length ? Long.parseLong(y[i]) : 0;
        if (p != q) {
          return Long.compare(p, q);
        }
      }
      return 0;
    }
  }
}
