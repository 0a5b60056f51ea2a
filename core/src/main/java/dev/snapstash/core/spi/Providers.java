package dev.snapstash.core.spi;

import dev.snapstash.core.error.SnapstashException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Every strategy on the class path, found through {@link ServiceLoader} ({@code
 * META-INF/services/dev.snapstash.core.spi.Provider}): a new strategy is a package with a provider and one line in
 * that file, and nothing else in snapstash changes. Loaded once; immutable afterwards.
 */
public final class Providers {
  private static final List<Provider<?, ?>> ALL = load();

  private Providers() {}

  @SuppressWarnings({"rawtypes", "unchecked"})
  private static List<Provider<?, ?>> load() {
    List<Provider<?, ?>> out = new ArrayList<>();
    for (Provider p : ServiceLoader.load(Provider.class, Providers.class.getClassLoader())) {
      out.add(p);
    }
    // by kind, and within a kind in the order the services files list them (the sort is stable): the first is the
    // default, and messages and the reference list them that way
    out.sort(Comparator.comparing((Provider<?, ?> p) -> p.kind()));
    Map<String, Provider<?, ?>> byKey = new LinkedHashMap<>();
    Map<String, String> undo = new LinkedHashMap<>();
    for (Provider<?, ?> p : out) {
      if (byKey.put(p.kind() + "/" + p.name(), p) != null) {
        throw new IllegalStateException("two providers of " + p.kind().key() + ".type " + p.name());
      }
      for (String u : p.undoTypes().keySet()) {
        String other = undo.put(u, p.kind().key() + "." + p.name());
        if (other != null) {
          throw new IllegalStateException("undo step '" + u + "' claimed by " + other + " and " + p.kind().key() + "." + p.name());
        }
      }
    }
    return List.copyOf(out);
  }

  public static List<Provider<?, ?>> all() {
    return ALL;
  }

  /** The providers of one kind, by name. */
  public static List<Provider<?, ?>> of(StrategyKind kind) {
    return ALL.stream().filter(p -> p.kind() == kind).toList();
  }

  public static Optional<Provider<?, ?>> find(StrategyKind kind, String name) {
    return ALL.stream().filter(p -> p.kind() == kind && p.name().equals(name)).findFirst();
  }

  /**
   * The provider {@code <kind>.type} (or {@code key}) names, or a CONFIG error that lists the names there are.
   *
   * @param key the key that named it, for the message ({@code disk.type}, {@code notify[1].type})
   */
  public static Provider<?, ?> require(StrategyKind kind, String name, String key) {
    return find(kind, name).orElseThrow(() -> SnapstashException.config(
        key + " '" + name + "' is not one of " + String.join(", ", of(kind).stream().map(Provider::name).toList())));
  }

  /** The names of every undo step any provider journals, with their records. */
  public static Map<String, Class<? extends Undo>> undoTypes() {
    Map<String, Class<? extends Undo>> out = new LinkedHashMap<>();
    for (Provider<?, ?> p : ALL) {
      out.putAll(p.undoTypes());
    }
    return out;
  }
}
