package dev.snapstash.core.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Providers;
import dev.snapstash.core.spi.StrategyKind;

/**
 * The configuration keys as described by the records and their {@link Key} annotations: the one model both the
 * loader and the generated reference read, so they cannot disagree.
 */
final class ConfigKeys {
  /** The prefix of every environment override. */
  static final String ENV_PREFIX = "SNAPSTASH_";

  enum Kind {
    STRING("string"),
    INTEGER("integer"),
    BOOLEAN("boolean"),
    DURATION("duration"),
    PATH("path"),
    URL("URL"),
    SECRET("secret reference"),
    STRING_LIST("list of strings"),
    SECTION("section"),
    SECTION_LIST("list of sections"),
    CHOICE("section"),
    CHOICE_LIST("list of sections");

    final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  /**
   * One key of a record.
   *
   * @param name the YAML name (kebab-case, or {@code @JsonProperty})
   * @param section for {@link Kind#SECTION} and {@link Kind#SECTION_LIST}, the record type of the section or entry
   */
  record Field(String name, RecordComponent component, Kind kind, Key key, Class<?> section) {
    boolean hasDefault() {
      return !key.def().isEmpty();
    }

    /** For {@link Kind#CHOICE} and {@link Kind#CHOICE_LIST}: the kind of strategy chosen. */
    StrategyKind strategyKind() {
      for (StrategyKind k : StrategyKind.values()) {
        if (k.key().equals(key.strategies())) {
          return k;
        }
      }
      throw new IllegalStateException(name + ": @Key(strategies = \"" + key.strategies() + "\") names no strategy kind");
    }
  }

  private static final Map<Class<?>, List<Field>> CACHE = new ConcurrentHashMap<>();

  private ConfigKeys() {}

  static List<Field> fields(Class<?> record) {
    return CACHE.computeIfAbsent(record, ConfigKeys::describe);
  }

  static List<String> names(Class<?> record) {
    return fields(record).stream().map(Field::name).toList();
  }

  private static List<Field> describe(Class<?> record) {
    if (!record.isRecord()) {
      throw new IllegalArgumentException(record + " is not a record");
    }
    List<Field> out = new ArrayList<>();
    for (RecordComponent rc : record.getRecordComponents()) {
      Key key = rc.getAnnotation(Key.class);
      if (key == null) {
        throw new IllegalStateException(record.getSimpleName() + "." + rc.getName() + " has no @Key");
      }
      JsonProperty jp = rc.getAccessor().getAnnotation(JsonProperty.class);
      String name = jp != null && !jp.value().isEmpty() ? jp.value() : kebab(rc.getName());
      Class<?> type = rc.getType();
      Kind kind;
      Class<?> section = null;
      if (type == String.class) {
        kind = Kind.STRING;
      } else if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
        kind = Kind.INTEGER;
      } else if (type == boolean.class || type == Boolean.class) {
        kind = Kind.BOOLEAN;
      } else if (type == Duration.class) {
        kind = Kind.DURATION;
      } else if (type == Path.class) {
        kind = Kind.PATH;
      } else if (type == URI.class) {
        kind = Kind.URL;
      } else if (type == Secret.class) {
        kind = Kind.SECRET;
      } else if (type == Choice.class) {
        kind = Kind.CHOICE;
        section = Choice.class;
      } else if (type.isRecord()) {
        kind = Kind.SECTION;
        section = type;
      } else if (type == List.class) {
        Type arg = ((ParameterizedType) rc.getGenericType()).getActualTypeArguments()[0];
        if (arg == String.class) {
          kind = Kind.STRING_LIST;
        } else if (arg == Choice.class) {
          kind = Kind.CHOICE_LIST;
          section = Choice.class;
        } else if (arg instanceof Class<?> c && c.isRecord()) {
          kind = Kind.SECTION_LIST;
          section = c;
        } else {
          throw new IllegalStateException("unsupported list type " + arg + " of " + rc);
        }
      } else {
        throw new IllegalStateException("unsupported configuration type " + type + " of " + rc);
      }
      out.add(new Field(name, rc, kind, key, section));
    }
    return List.copyOf(out);
  }

  /** {@code drainTimeout} becomes {@code drain-timeout}. */
  static String kebab(String camel) {
    StringBuilder b = new StringBuilder();
    for (char c : camel.toCharArray()) {
      if (Character.isUpperCase(c)) {
        b.append('-').append(Character.toLowerCase(c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  /** {@code backup.drain-timeout} becomes {@code SNAPSTASH_BACKUP_DRAIN_TIMEOUT}; {@code notify[]} becomes an index. */
  static String envName(String path) {
    return ENV_PREFIX + path.replace("[]", "_<N>").toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /**
   * The keys of a strategy choice: {@code type}, then, for a section ({@link Kind#CHOICE}), one section per strategy
   * of its kind, named after it and bound to its provider's settings record; for a list's entries ({@link
   * Kind#CHOICE_LIST}), the keys of every strategy of its kind (each entry takes its own type's).
   */
  static List<Field> choiceFields(Field choice) {
    StrategyKind kind = choice.strategyKind();
    List<Provider<?, ?>> providers = Providers.of(kind);
    StringBuilder types = new StringBuilder("Which strategy; one of:\n");
    for (Provider<?, ?> p : providers) {
      types.append("\n- `").append(p.name()).append("`: ").append(p.summary());
      if (!p.summary().endsWith(".")) {
        types.append('.');
      }
    }
    List<Field> out = new ArrayList<>();
    boolean list = choice.kind() == Kind.CHOICE_LIST;
    out.add(new Field("type", null, Kind.STRING, key(types.toString(), list ? "" : choice.key().def(), list), null));
    if (list && choice.key().common() != Record.class) {
      out.addAll(fields(choice.key().common()));
    }
    for (Provider<?, ?> p : providers) {
      if (list) {
        for (Field f : fields(p.settingsType())) {
          if (out.stream().noneMatch(o -> o.name().equals(f.name()))) {
            out.add(f);
          }
        }
      } else if (p.settingsType() != Provider.NoSettings.class) {
        out.add(new Field(
            p.name(), null, Kind.SECTION,
            key("Settings of the `" + p.name() + "` " + kind.key() + " strategy, read when " + choice.name()
                + ".type is " + p.name() + ".", "", false),
            p.settingsType()));
      }
    }
    return List.copyOf(out);
  }

  /** The keys a section or list entry may hold. */
  static List<String> entryNames(Field f) {
    return f.kind() == Kind.CHOICE || f.kind() == Kind.CHOICE_LIST
        ? choiceFields(f).stream().map(Field::name).toList()
        : names(f.section());
  }

  /** An annotation value made at run time, for the keys of a choice, which no record component carries. */
  private static Key key(String doc, String def, boolean required) {
    return new Key() {
      @Override
      public String doc() {
        return doc;
      }

      @Override
      public String def() {
        return def;
      }

      @Override
      public boolean required() {
        return required;
      }

      @Override
      public boolean secret() {
        return false;
      }

      @Override
      public String strategies() {
        return "";
      }

      @Override
      public Class<? extends Record> common() {
        return Record.class;
      }

      @Override
      public Class<? extends java.lang.annotation.Annotation> annotationType() {
        return Key.class;
      }
    };
  }

  /** A key reached by walking the records: its full path ({@code notify[].url} inside lists) and field. */
  record Leaf(String path, Field field) {}

  /** Every key in document order, sections included (depth-first), starting at the root. */
  static List<Leaf> walk(Class<?> root) {
    List<Leaf> out = new ArrayList<>();
    walk(root, "", out);
    return out;
  }

  private static void walk(Class<?> record, String prefix, List<Leaf> out) {
    for (Field f : fields(record)) {
      String path = prefix + f.name();
      out.add(new Leaf(path, f));
      if (f.kind() == Kind.SECTION) {
        walk(f.section(), path + ".", out);
      } else if (f.kind() == Kind.SECTION_LIST) {
        walk(f.section(), path + "[].", out);
      } else if (f.kind() == Kind.CHOICE || f.kind() == Kind.CHOICE_LIST) {
        String inner = path + (f.kind() == Kind.CHOICE ? "." : "[].");
        for (Field c : choiceFields(f)) {
          out.add(new Leaf(inner + c.name(), c));
          if (c.kind() == Kind.SECTION) {
            walk(c.section(), inner + c.name() + ".", out);
          }
        }
      }
    }
  }
}
