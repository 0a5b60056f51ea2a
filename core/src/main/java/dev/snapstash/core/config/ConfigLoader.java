package dev.snapstash.core.config;

import dev.snapstash.core.util.Tags;
import dev.snapstash.core.config.ConfigKeys.Field;
import dev.snapstash.core.config.ConfigKeys.Kind;
import dev.snapstash.core.config.YamlTree.Entry;
import dev.snapstash.core.config.YamlTree.ListNode;
import dev.snapstash.core.config.YamlTree.MapNode;
import dev.snapstash.core.config.YamlTree.Node;
import dev.snapstash.core.config.YamlTree.Origin;
import dev.snapstash.core.config.YamlTree.Scalar;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Providers;
import dev.snapstash.core.spi.StrategyKind;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads {@code snapstash.yml} into a {@link SnapstashConfig}, applies {@code @Key} defaults and {@code SNAPSTASH_*}
 * environment overrides, and validates everything before anything runs. Every problem found is reported at once,
 * one per line, each naming the file and line (or the environment variable) and the full key path, in a single
 * {@link SnapstashException} of kind {@code CONFIG}.
 *
 * <p>Strategy sections ({@code database.postgresql}, {@code disk.rsync}, …) are only type-checked here; the
 * strategy registry validates {@code type} values and the section of the selected strategy.
 */
public final class ConfigLoader {
  /** The file read when no {@code -c FILE} is given. */
  public static final Path DEFAULT_FILE = Path.of("snapstash.yml");

  /**
   * {@code SNAPSTASH_*} variables the launcher (or a fault-injection test, see {@code engine.FaultPoints}, or the
   * native switch, see {@code util.Natives}) uses itself; they are not configuration overrides.
   */
  public static final Set<String> LAUNCHER_VARIABLES =
      Set.of(
          "SNAPSTASH_CONFIG", "SNAPSTASH_HOME", "SNAPSTASH_JAVA_OPTS", "SNAPSTASH_LIB", "SNAPSTASH_FAULT_POINT",
          "SNAPSTASH_FAULT_MARKER", dev.snapstash.core.util.Natives.VARIABLE);

  /** As {@code Tags}: not starting with '.' (the store's own directories) nor '-' (a tag would read as an option). */
  private static final Pattern INSTANCE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,98}");

  /**
   * Checks and normalisations of single values, by key path ({@code []} for any list index). Each returns the
   * value to keep or throws {@link IllegalArgumentException} with a phrase that follows the quoted value.
   */
  private static final Map<String, UnaryOperator<Object>> RULES =
      Map.ofEntries(
          Map.entry("instance.name", ConfigLoader::instanceName),
          Map.entry("instance.base-url", v -> stripTrailingSlashes((URI) v)),
          Map.entry("instance.proxy", ConfigLoader::proxy),
          Map.entry("backup.free-space-margin-mib", Rules.atLeast(0)),
          Map.entry("backup.group", ConfigLoader::group),
          Map.entry("retention.keep-last", Rules.atLeast(0)),
          Map.entry("retention.keep-daily", Rules.atLeast(0)),
          Map.entry("retention.keep-weekly", Rules.atLeast(0)),
          Map.entry("retention.keep-monthly", Rules.atLeast(0)),
          Map.entry("archive[].keep-last", Rules.atLeast(0)),
          Map.entry("archive[].keep-daily", Rules.atLeast(0)),
          Map.entry("archive[].keep-weekly", Rules.atLeast(0)),
          Map.entry("archive[].keep-monthly", Rules.atLeast(0)));

  /**
   * The providers' own rules ({@link Provider#rules}), by key pattern: {@code disk.rsync.parallel} for a section,
   * {@code notify[].url} for the entries of a list.
   */
  private static final Map<String, UnaryOperator<Object>> PROVIDER_RULES = providerRules();

  private static Map<String, UnaryOperator<Object>> providerRules() {
    Map<String, UnaryOperator<Object>> out = new LinkedHashMap<>();
    for (ConfigKeys.Field f : ConfigKeys.fields(SnapstashConfig.class)) {
      if (f.kind() != Kind.CHOICE && f.kind() != Kind.CHOICE_LIST) {
        continue;
      }
      for (Provider<?, ?> p : Providers.of(f.strategyKind())) {
        String prefix = f.kind() == Kind.CHOICE ? f.name() + "." + p.name() + "." : f.name() + "[].";
        p.rules().forEach((key, rule) -> out.putIfAbsent(prefix + key, rule));
      }
    }
    return Map.copyOf(out);
  }

  private ConfigLoader() {}

  /** {@link #load(Path, Map)} with the process environment. */
  public static SnapstashConfig load(Path file) {
    return load(file, System.getenv());
  }

  /**
   * Reads and validates a configuration file. Relative paths in the file resolve against the file's directory.
   *
   * @param env the environment: {@code SNAPSTASH_*} overrides, and what {@code ${env:NAME}} secrets read later
   * @throws SnapstashException (CONFIG) listing every problem found, one per line
   */
  public static SnapstashConfig load(Path file, Map<String, String> env) {
    String shown = shown(file);
    if (!Files.exists(file)) {
      throw SnapstashException.config(
          "configuration file "
              + shown
              + " not found; pass -c FILE, or run 'snapstash sandbox start --dir DIR' to get a ready one");
    }
    if (Files.isDirectory(file)) {
      throw SnapstashException.config("configuration file " + shown + " is a directory; pass -c FILE");
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
    } catch (CharacterCodingException e) {
      throw SnapstashException.config("configuration file " + shown + " is not UTF-8 text");
    } catch (IOException e) {
      throw SnapstashException.config(
          "cannot read configuration file " + shown + ": " + e.getClass().getSimpleName());
    }
    Path dir = file.toAbsolutePath().normalize().getParent();
    return parse(text, file.toString(), dir, env);
  }

  /** {@link #parse(String, String, Path, Map)} with relative paths resolved against the working directory. */
  public static SnapstashConfig parse(String yaml, String sourceName, Map<String, String> env) {
    return parse(yaml, sourceName, Path.of("").toAbsolutePath(), env);
  }

  /**
   * Reads and validates configuration text.
   *
   * @param sourceName the name errors give the text, normally the file name
   * @param baseDir the directory relative paths in the text resolve against
   * @param env the environment: {@code SNAPSTASH_*} overrides, and what {@code ${env:NAME}} secrets read later
   * @throws SnapstashException (CONFIG) listing every problem found, one per line
   */
  public static SnapstashConfig parse(String yaml, String sourceName, Path baseDir, Map<String, String> env) {
    return new Binder(sourceName, baseDir, env).run(yaml);
  }

  /** The environment variable that overrides a key, e.g. {@code SNAPSTASH_BACKUP_DRAIN_TIMEOUT}. */
  public static String environmentVariable(String keyPath) {
    return ConfigKeys.envName(keyPath);
  }

  private static String shown(Path file) {
    String s = file.toString();
    return file.isAbsolute() || s.startsWith(".") ? s : "./" + s;
  }

  private record Problem(Origin origin, String message) {
    @Override
    public String toString() {
      return origin + ": " + message;
    }
  }

  private static final class Binder {
    private final String source;
    private final Path baseDir;
    private final Map<String, String> env;
    private final List<Problem> problems = new ArrayList<>();

    Binder(String source, Path baseDir, Map<String, String> env) {
      this.source = source;
      this.baseDir = baseDir;
      this.env = env;
    }

    private void problem(Origin origin, String message) {
      problems.add(new Problem(origin, message));
    }

    SnapstashConfig run(String yaml) {
      Origin file = Origin.file(source, 0);
      Node root;
      try {
        root = YamlTree.read(yaml, line -> Origin.file(source, line), this::problem);
      } catch (YamlTree.SyntaxError e) {
        throw SnapstashException.config(Origin.file(source, e.line) + ": not valid YAML: " + e.getMessage());
      }
      if (!(root instanceof MapNode rootMap)) {
        throw SnapstashException.config(
            root.origin() + ": the file must hold keys like 'instance:' and 'backup:', not " + describe(root));
      }
      applyEnvironment(rootMap);
      Object config = section(SnapstashConfig.class, rootMap, "", "", file);
      if (!problems.isEmpty()) {
        List<Problem> sorted = new ArrayList<>(problems);
        sorted.sort(
            Comparator.comparing((Problem p) -> p.origin().environment())
                .thenComparing(p -> p.origin().source())
                .thenComparingInt(p -> p.origin().line()));
        throw SnapstashException.config(
            String.join("\n", sorted.stream().map(Problem::toString).distinct().toList()));
      }
      return (SnapstashConfig) config;
    }

    // ---------------------------------------------------------------- binding

    /** Binds a mapping to a record; null if anything in it is wrong (the problems are recorded). */
    private Object section(Class<?> type, MapNode map, String path, String pattern, Origin where) {
      int before = problems.size();
      List<Field> fields = ConfigKeys.fields(type);
      List<String> names = ConfigKeys.names(type);
      for (Map.Entry<String, Entry> e : map.entries().entrySet()) {
        if (!names.contains(e.getKey())) {
          problem(e.getValue().keyOrigin(), unknownKey(type, path, e.getKey()));
        }
      }
      Object[] args = new Object[fields.size()];
      for (int i = 0; i < fields.size(); i++) {
        Field f = fields.get(i);
        Entry e = map.entries().get(f.name());
        Node node = e == null || isNull(e.value()) ? null : e.value();
        args[i] = field(f, node, join(path, f.name()), join(pattern, f.name()), e == null ? where : e.keyOrigin());
      }
      if (problems.size() > before) {
        return null;
      }
      try {
        Class<?>[] types = fields.stream().map(f -> f.component().getType()).toArray(Class<?>[]::new);
        return type.getDeclaredConstructor(types).newInstance(args);
      } catch (InvocationTargetException e) {
        Throwable cause = e.getCause();
        if (cause instanceof SnapstashException || cause instanceof IllegalArgumentException) {
          problem(where, (path.isEmpty() ? "" : path + ": ") + cause.getMessage());
          return null;
        }
        throw SnapstashException.internal("cannot build " + type.getSimpleName(), cause);
      } catch (ReflectiveOperationException e) {
        throw SnapstashException.internal("cannot build " + type.getSimpleName(), e);
      }
    }

    private Object field(Field f, Node node, String path, String pattern, Origin where) {
      if (node == null && f.kind() == Kind.CHOICE) {
        // Its default is the default type, not a value: an absent section chooses it with its keys' defaults.
        node = MapNode.empty(where);
      }
      if (node == null) {
        if (f.hasDefault()) {
          node = parseDefault(f, where);
        } else if (f.kind() == Kind.SECTION) {
          if (f.key().required()) {
            problem(where, "missing required section " + path + requiredHint(f.section(), path));
            return null;
          }
          node = MapNode.empty(where);
        } else {
          if (f.key().required()) {
            problem(where, "missing required key " + path);
            return null;
          }
          return absent(f);
        }
      }
      return switch (f.kind()) {
        case SECTION -> node instanceof MapNode m
            ? section(f.section(), m, path, pattern, where)
            : wrongShape(node, path, "a section with the keys " + String.join(", ", ConfigKeys.names(f.section())));
        case SECTION_LIST -> sectionList(f, node, path, pattern);
        case CHOICE -> node instanceof MapNode m
            ? choice(f, m, path, pattern)
            : wrongShape(node, path, "a section with the keys " + String.join(", ", ConfigKeys.entryNames(f)));
        case CHOICE_LIST -> choiceList(f, node, path, pattern);
        case STRING_LIST -> stringList(node, path);
        default -> scalar(f, node, path, pattern);
      };
    }

    private Object sectionList(Field f, Node node, String path, String pattern) {
      if (!(node instanceof ListNode list)) {
        return wrongShape(node, path, "a list of sections (each entry starting with '- ')");
      }
      List<Object> out = new ArrayList<>();
      boolean ok = true;
      for (int i = 0; i < list.items().size(); i++) {
        Node item = list.items().get(i);
        String itemPath = path + "[" + i + "]";
        Object v =
            item instanceof MapNode m
                ? section(f.section(), m, itemPath, pattern + "[]", m.origin())
                : wrongShape(
                    item, itemPath, "a section with the keys " + String.join(", ", ConfigKeys.names(f.section())));
        ok &= v != null;
        out.add(v);
      }
      return ok ? List.copyOf(out) : null;
    }

    /**
     * A strategy chosen by {@code type} (checked against the providers of its kind), and the settings section of
     * every strategy of that kind the file holds, each bound to its provider's record; the chosen one's is bound
     * from its keys' defaults when the file leaves it out.
     */
    private Object choice(Field f, MapNode map, String path, String pattern) {
      int before = problems.size();
      StrategyKind kind = f.strategyKind();
      List<String> names = ConfigKeys.entryNames(f);
      Entry typeEntry = map.entries().get("type");
      for (Map.Entry<String, Entry> e : map.entries().entrySet()) {
        if (!names.contains(e.getKey())) {
          String full = join(path, e.getKey());
          String written = typeEntry != null && typeEntry.value() instanceof Scalar s ? s.text() : f.key().def();
          problem(e.getValue().keyOrigin(), strategyKey(f, e.getKey(), written)
              .or(() -> Suggestions.nearest(e.getKey(), names))
              .map(n -> "unknown key " + full + " (did you mean " + join(path, n) + "?)")
              .orElse("unknown key " + full + " (valid keys here: " + String.join(", ", names) + ")"));
        }
      }
      Origin typeOrigin = typeEntry == null ? map.origin() : typeEntry.keyOrigin();
      String type = typeEntry == null || isNull(typeEntry.value()) ? f.key().def() : text(typeEntry.value(), join(path, "type"));
      Provider<?, ?> chosen = type == null ? null : provider(kind, type, join(path, "type"), typeOrigin);
      Map<String, Record> sections = new LinkedHashMap<>();
      for (Provider<?, ?> p : Providers.of(kind)) {
        Entry e = map.entries().get(p.name());
        Node node = e == null || isNull(e.value()) ? null : e.value();
        if (node == null && p != chosen) {
          continue;
        }
        Origin at = e == null ? map.origin() : e.keyOrigin();
        String sub = join(path, p.name());
        Object bound = node == null
            ? section(p.settingsType(), MapNode.empty(at), sub, join(pattern, p.name()), at)
            : node instanceof MapNode m
                ? section(p.settingsType(), m, sub, join(pattern, p.name()), at)
                : wrongShape(node, sub, "a section with the keys " + String.join(", ", ConfigKeys.names(p.settingsType())));
        if (bound != null) {
          sections.put(p.name(), (Record) bound);
        }
      }
      return problems.size() > before || chosen == null ? null : new Choice(type, sections);
    }

    /** Entries that each choose a strategy by {@code type} and hold that strategy's keys beside it. */
    private Object choiceList(Field f, Node node, String path, String pattern) {
      if (!(node instanceof ListNode list)) {
        return wrongShape(node, path, "a list of entries (each starting with '- type: …')");
      }
      StrategyKind kind = f.strategyKind();
      List<Object> out = new ArrayList<>();
      boolean ok = true;
      for (int i = 0; i < list.items().size(); i++) {
        Node item = list.items().get(i);
        String itemPath = path + "[" + i + "]";
        if (!(item instanceof MapNode m)) {
          wrongShape(item, itemPath, "an entry with the keys " + String.join(", ", ConfigKeys.entryNames(f)));
          ok = false;
          continue;
        }
        Entry typeEntry = m.entries().get("type");
        if (typeEntry == null || isNull(typeEntry.value())) {
          problem(m.origin(), "missing required key " + itemPath + ".type");
          ok = false;
          continue;
        }
        String type = text(typeEntry.value(), itemPath + ".type");
        Provider<?, ?> p = type == null ? null : provider(kind, type, itemPath + ".type", typeEntry.keyOrigin());
        if (p == null) {
          ok = false;
          continue;
        }
        Map<String, Entry> rest = new LinkedHashMap<>(m.entries());
        rest.remove("type");
        Class<? extends Record> commonType = f.key().common();
        Object common = null;
        if (commonType != Record.class) {
          Map<String, Entry> shared = new LinkedHashMap<>();
          for (String name : ConfigKeys.names(commonType)) {
            Entry e = rest.remove(name);
            if (e != null) {
              shared.put(name, e);
            }
          }
          common = section(commonType, new MapNode(m.origin(), shared), itemPath, pattern + "[]", m.origin());
          ok &= common != null;
        }
        Object bound = section(p.settingsType(), new MapNode(m.origin(), rest), itemPath, pattern + "[]", m.origin());
        ok &= bound != null;
        out.add(bound == null ? null : new Choice(type, Map.of(type, (Record) bound), (Record) common));
      }
      return ok ? List.copyOf(out) : null;
    }

    /** The provider a {@code type} names, or null after reporting that it names none. */
    private Provider<?, ?> provider(StrategyKind kind, String type, String path, Origin at) {
      Optional<Provider<?, ?>> p = Providers.find(kind, type);
      if (p.isEmpty()) {
        List<String> known = Providers.of(kind).stream().map(Provider::name).toList();
        problem(at, path + ": " + quote(type) + " is not one of " + String.join(", ", known)
            + Suggestions.nearest(type, known).map(n -> " (did you mean " + n + "?)").orElse(""));
        return null;
      }
      return p.get();
    }

    /** A scalar's text, or null after reporting that the node is not one. */
    private String text(Node node, String path) {
      if (node instanceof Scalar sc && sc.text() != null) {
        return sc.text().strip();
      }
      wrongShape(node, path, "a single value");
      return null;
    }

    private Object stringList(Node node, String path) {
      if (!(node instanceof ListNode list)) {
        return wrongShape(node, path, "a list like [a, b]");
      }
      List<String> out = new ArrayList<>();
      boolean ok = true;
      for (int i = 0; i < list.items().size(); i++) {
        Node item = list.items().get(i);
        if (item instanceof Scalar s && s.text() != null) {
          out.add(s.text());
        } else {
          ok = false;
          if (isNull(item)) {
            problem(item.origin(), path + "[" + i + "] is empty");
          } else {
            wrongShape(item, path + "[" + i + "]", "a single value");
          }
        }
      }
      return ok ? List.copyOf(out) : null;
    }

    private Object scalar(Field f, Node node, String path, String pattern) {
      if (!(node instanceof Scalar s)) {
        return wrongShape(node, path, "a single value");
      }
      String text = s.text();
      Origin at = s.origin();
      if (f.kind() == Kind.SECRET) {
        try {
          return Secret.parse(path, text, env::get);
        } catch (SnapstashException e) {
          problem(at, e.getMessage());
          return null;
        }
      }
      try {
        Object value = convert(f, text, at);
        UnaryOperator<Object> rule = RULES.getOrDefault(pattern, PROVIDER_RULES.get(pattern));
        return rule == null ? value : rule.apply(value);
      } catch (IllegalArgumentException e) {
        problem(at, path + ": " + quote(text) + " " + e.getMessage());
        return null;
      }
    }

    private Object convert(Field f, String text, Origin at) {
      Class<?> type = f.component().getType();
      return switch (f.kind()) {
        case STRING -> text;
        case INTEGER -> {
          long n;
          try {
            n = Long.parseLong(text.strip());
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("is not a whole number");
          }
          if (type == long.class || type == Long.class) {
            yield n;
          }
          if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("is too large");
          }
          yield (int) n;
        }
        case BOOLEAN -> {
          String t = text.strip().toLowerCase(Locale.ROOT);
          if (!t.equals("true") && !t.equals("false")) {
            throw new IllegalArgumentException("is not true or false");
          }
          yield Boolean.valueOf(t);
        }
        case DURATION -> {
          Duration d = Durations.parse(text);
          if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException("must be longer than zero");
          }
          yield d;
        }
        case PATH -> path(text, at);
        case URL -> url(text);
        default -> throw new IllegalStateException(f.kind().toString());
      };
    }

    private Path path(String text, Origin at) {
      String t = text.strip();
      if (t.isEmpty()) {
        throw new IllegalArgumentException("is not a path");
      }
      if (t.equals("~") || t.startsWith("~/")) {
        t = System.getProperty("user.home") + t.substring(1);
      } else if (t.startsWith("~")) {
        throw new IllegalArgumentException("is not supported: only '~' and '~/…' (your own home) are expanded");
      }
      try {
        Path p = Path.of(t);
        Path base = at.environment() ? Path.of("").toAbsolutePath() : baseDir;
        return (p.isAbsolute() ? p : base.resolve(p)).normalize();
      } catch (InvalidPathException e) {
        throw new IllegalArgumentException("is not a valid path");
      }
    }

    private Object absent(Field f) {
      Class<?> type = f.component().getType();
      if (type == int.class) {
        return 0;
      } else if (type == long.class) {
        return 0L;
      } else if (type == boolean.class) {
        return false;
      } else if (f.kind() == Kind.SECTION_LIST || f.kind() == Kind.CHOICE_LIST) {
        return List.of();
      }
      return null;
    }

    private Node parseDefault(Field f, Origin where) {
      try {
        Node n = YamlTree.read(f.key().def(), line -> where, this::problem);
        return n instanceof MapNode m && m.entries().isEmpty() && f.kind() != Kind.SECTION
            ? new Scalar(where, f.key().def())
            : n;
      } catch (YamlTree.SyntaxError e) {
        throw new IllegalStateException("bad @Key default '" + f.key().def() + "'", e);
      }
    }

    private Object wrongShape(Node node, String path, String expected) {
      problem(node.origin(), path + ": expected " + expected + ", not " + describe(node));
      return null;
    }

    // ---------------------------------------------------------------- environment

    private void applyEnvironment(MapNode root) {
      Map<String, String> byVariable = new LinkedHashMap<>();
      Map<String, Field> lists = new LinkedHashMap<>();
      for (ConfigKeys.Leaf leaf : ConfigKeys.walk(SnapstashConfig.class)) {
        Kind kind = leaf.field().kind();
        if (leaf.path().contains("[]") || kind == Kind.SECTION || kind == Kind.CHOICE) {
          continue;
        }
        byVariable.put(ConfigKeys.envName(leaf.path()), leaf.path());
        if (kind == Kind.SECTION_LIST || kind == Kind.CHOICE_LIST) {
          lists.put(ConfigKeys.envName(leaf.path()), leaf.field());
        }
      }
      record Indexed(String variable, String listPath, int index, String key, String value) {}
      List<Indexed> indexed = new ArrayList<>();
      for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
        String var = e.getKey();
        if (!var.startsWith(ConfigKeys.ENV_PREFIX) || LAUNCHER_VARIABLES.contains(var)) {
          continue;
        }
        String path = byVariable.get(var);
        if (path != null) {
          Node value = parseVariable(var, e.getValue());
          if (value != null) {
            set(root, List.of(path.split("\\.")), value);
          }
          continue;
        }
        Optional<Indexed> entry = Optional.empty();
        String suggestion = null;
        for (Map.Entry<String, Field> list : lists.entrySet()) {
          Matcher m = Pattern.compile(Pattern.quote(list.getKey()) + "_(\\d+)_(.+)").matcher(var);
          if (m.matches()) {
            Map<String, String> keys = new LinkedHashMap<>();
            for (String name : ConfigKeys.entryNames(list.getValue())) {
              keys.put(ConfigKeys.envName(name).substring(ConfigKeys.ENV_PREFIX.length()), name);
            }
            String key = keys.get(m.group(2));
            String listPath = byVariable.get(list.getKey());
            if (key != null && m.group(1).length() < 6) {
              entry = Optional.of(new Indexed(var, listPath, Integer.parseInt(m.group(1)), key, e.getValue()));
            } else {
              suggestion =
                  Suggestions.nearest(m.group(2), keys.keySet())
                      .map(k -> list.getKey() + "_" + m.group(1) + "_" + k)
                      .orElse(null);
            }
          }
        }
        if (entry.isPresent()) {
          indexed.add(entry.get());
          continue;
        }
        if (suggestion == null) {
          List<String> candidates = new ArrayList<>(byVariable.keySet());
          lists.forEach(
              (prefix, f) ->
                  ConfigKeys.entryNames(f)
                      .forEach(n -> candidates.add(prefix + "_0_" + ConfigKeys.envName(n).substring(ConfigKeys.ENV_PREFIX.length()))));
          suggestion = Suggestions.nearest(var, candidates).orElse(null);
        }
        problem(
            Origin.env(var),
            "unknown variable: no configuration key has this name"
                + (suggestion == null ? "" : " (did you mean " + suggestion + "?)"));
      }
      indexed.sort(Comparator.comparing(Indexed::listPath).thenComparingInt(Indexed::index));
      for (Indexed ix : indexed) {
        Node value = parseVariable(ix.variable(), ix.value());
        if (value == null) {
          continue;
        }
        Origin at = Origin.env(ix.variable());
        ListNode list = list(root, ix.listPath(), at);
        if (list == null) {
          continue;
        }
        if (ix.index() > list.items().size()) {
          problem(
              at,
              ix.listPath()
                  + " has "
                  + list.items().size()
                  + " entries, so a new entry must use index "
                  + list.items().size());
          continue;
        }
        if (ix.index() == list.items().size()) {
          list.items().add(MapNode.empty(at));
        }
        if (list.items().get(ix.index()) instanceof MapNode m) {
          m.entries().put(ix.key(), new Entry(at, value));
        }
      }
    }

    /** The list at a root key, created if absent; null if the key holds something else (reported elsewhere). */
    private ListNode list(MapNode root, String key, Origin at) {
      Entry e = root.entries().get(key);
      if (e == null || isNull(e.value())) {
        ListNode list = new ListNode(at, new ArrayList<>());
        root.entries().put(key, new Entry(at, list));
        return list;
      }
      return e.value() instanceof ListNode l ? l : null;
    }

    private Node parseVariable(String var, String value) {
      Origin at = Origin.env(var);
      if (value.isEmpty()) {
        return new Scalar(at, "");
      }
      try {
        Node n = YamlTree.read(value, line -> at, this::problem);
        return n instanceof MapNode m && m.entries().isEmpty() ? new Scalar(at, null) : n;
      } catch (YamlTree.SyntaxError e) {
        problem(at, "is not a valid YAML value (" + e.getMessage() + "); quote it like 'value'");
        return null;
      }
    }

    private static void set(MapNode root, List<String> segments, Node value) {
      MapNode map = root;
      for (String segment : segments.subList(0, segments.size() - 1)) {
        Entry e = map.entries().get(segment);
        if (e == null || isNull(e.value())) {
          MapNode created = MapNode.empty(value.origin());
          map.entries().put(segment, new Entry(value.origin(), created));
          map = created;
        } else if (e.value() instanceof MapNode m) {
          map = m;
        } else {
          return; // the file's value has the wrong shape; that is reported when binding
        }
      }
      map.entries().put(segments.get(segments.size() - 1), new Entry(value.origin(), value));
    }

    // ---------------------------------------------------------------- messages

    private static String unknownKey(Class<?> type, String path, String key) {
      String full = join(path, key);
      Optional<String> deeper = findDeeper(type, key, "");
      if (deeper.isPresent()) {
        return "unknown key " + full + " (did you mean " + join(path, deeper.get()) + "?)";
      }
      List<String> names = ConfigKeys.names(type);
      return Suggestions.nearest(key, names)
          .map(s -> "unknown key " + full + " (did you mean " + join(path, s) + "?)")
          .orElse("unknown key " + full + " (valid keys here: " + String.join(", ", names) + ")");
    }

    /**
     * For a key written directly under a strategy choice ({@code disk: {link-dest: false}}): the strategy section
     * that has it ({@code rsync.link-dest}), the one of the type written there first.
     */
    private static Optional<String> strategyKey(Field choice, String key, String written) {
      if (choice.kind() != Kind.CHOICE) {
        return Optional.empty();
      }
      List<Field> sections = ConfigKeys.choiceFields(choice).stream().filter(c -> c.kind() == Kind.SECTION).toList();
      return java.util.stream.Stream.concat(
              sections.stream().filter(c -> c.name().equals(written)), sections.stream())
          .filter(c -> ConfigKeys.names(c.section()).contains(key))
          .map(c -> c.name() + "." + key)
          .findFirst();
    }

    /** A key of that name in a sub-section, for keys written one level too high. */
    private static Optional<String> findDeeper(Class<?> type, String key, String prefix) {
      for (Field f : ConfigKeys.fields(type)) {
        if (f.kind() == Kind.SECTION) {
          String p = prefix + f.name() + ".";
          if (ConfigKeys.names(f.section()).contains(key)) {
            return Optional.of(p + key);
          }
          Optional<String> deeper = findDeeper(f.section(), key, p);
          if (deeper.isPresent()) {
            return deeper;
          }
        } else if (f.kind() == Kind.CHOICE) {
          Optional<String> inStrategy = strategyKey(f, key, f.key().def());
          if (inStrategy.isPresent()) {
            return Optional.of(prefix + f.name() + "." + inStrategy.get());
          }
        }
      }
      return Optional.empty();
    }

    private static String requiredHint(Class<?> section, String path) {
      List<String> required =
          ConfigKeys.fields(section).stream()
              .filter(f -> f.key().required())
              .map(f -> path + "." + f.name())
              .toList();
      return required.isEmpty() ? "" : " (with at least " + String.join(" and ", required) + ")";
    }
  }

  // ---------------------------------------------------------------- rules

  private static Object instanceName(Object v) {
    if (!INSTANCE_NAME.matcher((String) v).matches()) {
      throw new IllegalArgumentException(
          "is not a valid instance name: use 1 to 99 letters, digits, '.', '_' or '-', without spaces, starting"
              + " with a letter, a digit or '_'");
    }
    return v;
  }

  /** The form only: the environment's proxy variables are read (and checked) when a client is built. */
  private static Object proxy(Object v) {
    try {
      dev.snapstash.core.http.ProxyRules.of((String) v, name -> null);
    } catch (SnapstashException e) {
      throw new IllegalArgumentException(
          "is not a proxy: " + e.getMessage().replaceFirst("^instance\\.proxy ", ""));
    }
    return v;
  }

  /** A group that exists on this host (or a numeric gid), checked now rather than at the first chgrp. */
  private static Object group(Object v) {
    dev.snapstash.core.util.FileModes.lookupGroup((String) v);
    return ((String) v).strip();
  }

  private static URI url(String text) {
    URI uri;
    try {
      uri = new URI(text.strip());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("is not a URL (" + e.getReason() + ")");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
      throw new IllegalArgumentException("is not an http or https URL like https://host:port/path");
    }
    if (uri.getRawUserInfo() != null) {
      // It would be printed wherever the URL is: by check, in every "cannot reach" error.
      throw new IllegalArgumentException(
          "must not hold a user name or password; use instance.username and instance.password");
    }
    return uri;
  }

  private static URI stripTrailingSlashes(URI uri) {
    String s = uri.toString();
    while (s.endsWith("/") && !s.endsWith("://")) {
      s = s.substring(0, s.length() - 1);
    }
    return URI.create(s);
  }

  // ---------------------------------------------------------------- helpers

  private static boolean isNull(Node n) {
    return n instanceof Scalar s && s.text() == null;
  }

  private static String join(String path, String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  private static String describe(Node n) {
    if (n instanceof MapNode) {
      return "a section";
    }
    return n instanceof ListNode ? "a list" : "a single value";
  }

  /** A value for an error message; the user-info part of a URL (it may hold a password) is masked. */
  private static String quote(String text) {
    String masked = text.replaceFirst("^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", "$1***@");
    String t = masked.length() > 80 ? masked.substring(0, 77) + "…" : masked;
    return "'" + t + "'";
  }
}
