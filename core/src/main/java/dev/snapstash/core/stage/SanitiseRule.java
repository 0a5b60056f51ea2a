package dev.snapstash.core.stage;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * One sanitising rule, as a rule file declares it: data, applied by {@link RuleRunner}. {@code ${name}} in SQL is
 * bound as a statement parameter (never spliced into the text); in property values it is replaced.
 *
 * @param id unique across the shipped rules and the administrator's, named in the audit and in a failure
 * @param description what it does and why, with its evidence
 * @param bitbucket the Bitbucket versions it applies to, like {@code >=5.0 <8.0}; {@code *} for all
 * @param enabled false for a rule shipped for review only (its description says why); {@code stage.enable-rules}
 *     runs it
 * @param requires parameters it needs ({@code mail-sink}, {@code license}); without them it is skipped
 * @param table a table name, or a LIKE pattern such as {@code AO_%_AOSLACK_LINK}; the rule runs once per table that
 *     exists (as {@code ${table}}, quoted), and is skipped when none does
 * @param sql statements run in one transaction with the verification
 * @param properties edits of the staging home's {@code shared/bitbucket.properties}
 * @param verify what must hold afterwards; also measured before, for the audit
 */
public record SanitiseRule(
    String id,
    String description,
    String bitbucket,
    Boolean enabled,
    List<String> requires,
    String table,
    List<String> sql,
    PropertyEdits properties,
    Verification verify) {

  public SanitiseRule {
    bitbucket = bitbucket == null || bitbucket.isBlank() ? "*" : bitbucket.strip();
    enabled = enabled == null || enabled;
    requires = requires == null ? List.of() : List.copyOf(requires);
    sql = sql == null ? List.of() : List.copyOf(sql);
  }

  public boolean isEnabled() {
    return enabled;
  }

  /**
   * @param remove keys commented out (with the rule's id as the reason)
   * @param set keys set to the given values
   */
  public record PropertyEdits(List<String> remove, Map<String, String> set) {
    public PropertyEdits {
      remove = remove == null ? List.of() : List.copyOf(remove);
      set = set == null ? Map.of() : Map.copyOf(new java.util.TreeMap<>(set));
    }
  }

  /**
   * @param sql one query returning one value (a count, or the value of a row); runs before and after the edit
   * @param expect the value it must return afterwards ({@code ${name}} replaced)
   * @param absent properties that must have no active line afterwards
   * @param equal properties that must have these values afterwards ({@code ${name}} replaced)
   * @param stagingDatabase a property holding a JDBC URL that must name the staging database
   */
  public record Verification(
      String sql,
      String expect,
      List<String> absent,
      Map<String, String> equal,
      @JsonProperty("staging-database") String stagingDatabase) {
    public Verification {
      absent = absent == null ? List.of() : List.copyOf(absent);
      equal = equal == null ? Map.of() : Map.copyOf(new java.util.TreeMap<>(equal));
    }
  }

  /** A rule file: a format number and the rules in the order they run. */
  public record File(int format, List<SanitiseRule> rules) {
    public File {
      rules = rules == null ? List.of() : List.copyOf(rules);
    }
  }
}
