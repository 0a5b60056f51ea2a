package dev.snapstash.core.config;

import java.util.Map;

/**
 * A strategy chosen by its {@code type}, with the settings sections the file holds for the strategies of that
 * kind (each bound to the record its provider declares, so every section is checked, not only the chosen one). See
 * {@link Key#strategies()}.
 *
 * @param type the chosen strategy's name
 * @param sections the bound settings by strategy name; always holds {@code type}'s (from its keys' defaults when
 *     the file leaves it out)
 * @param common for an entry of a list whose entries share keys whatever their type ({@link Key#common()}), those
 *     keys bound; null otherwise
 */
public record Choice(String type, Map<String, Record> sections, Record common) {
  public Choice {
    sections = Map.copyOf(sections);
  }

  public Choice(String type, Map<String, Record> sections) {
    this(type, sections, null);
  }

  /** The keys every entry of its list holds, as {@code type}; null when there are none. */
  public <C extends Record> C common(Class<C> type) {
    return type.isInstance(common) ? type.cast(common) : null;
  }

  /** The chosen strategy's settings. */
  public Record settings() {
    return sections.get(type);
  }

  /** The bound section of type {@code type} (the chosen strategy's, or another the file holds), or null. */
  public <S extends Record> S settings(Class<S> type) {
    Record chosen = settings();
    if (type.isInstance(chosen)) {
      return type.cast(chosen);
    }
    return sections.values().stream().filter(type::isInstance).map(type::cast).findFirst().orElse(null);
  }

  /** This choice with the chosen strategy's settings replaced (a restore pointed at another database). */
  public Choice withSettings(Record settings) {
    java.util.Map<String, Record> s = new java.util.LinkedHashMap<>(sections);
    s.put(type, settings);
    return new Choice(type, s, common);
  }
}
