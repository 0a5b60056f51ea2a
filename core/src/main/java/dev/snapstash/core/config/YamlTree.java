package dev.snapstash.core.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML document as a tree that remembers where every key and value came from (Jackson's own tree does not), read
 * from the streaming parser's tokens.
 */
final class YamlTree {
  // Not YAMLFactory.builder(): its parsers report an empty value ("key:") as "" instead of null.
  private static final YAMLFactory YAML = new YAMLFactory();

  private YamlTree() {}

  /** Where a value came from: a line of a file, an environment variable, or a {@code @Key} default. */
  record Origin(String source, int line, boolean environment) {
    static Origin file(String source, int line) {
      return new Origin(source, line, false);
    }

    static Origin env(String variable) {
      return new Origin(variable, 0, true);
    }

    @Override
    public String toString() {
      if (environment) {
        return "environment variable " + source;
      }
      return line > 0 ? source + ":" + line : source;
    }
  }

  sealed interface Node permits MapNode, ListNode, Scalar {
    Origin origin();
  }

  /** A key of a mapping: where the key itself was written, and its value. */
  record Entry(Origin keyOrigin, Node value) {}

  record MapNode(Origin origin, Map<String, Entry> entries) implements Node {
    static MapNode empty(Origin origin) {
      return new MapNode(origin, new LinkedHashMap<>());
    }
  }

  record ListNode(Origin origin, List<Node> items) implements Node {}

  /** A scalar; {@code text} is null for YAML null ({@code ~}, {@code null} or nothing). */
  record Scalar(Origin origin, String text) implements Node {}

  /** A parse failure: where and the parser's one-line reason. */
  static final class SyntaxError extends Exception {
    final int line;

    SyntaxError(int line, String reason) {
      super(reason);
      this.line = line;
    }
  }

  /** Collected problems such as duplicate keys, which do not stop reading. */
  interface Problems {
    void add(Origin origin, String message);
  }

  /**
   * Reads one document. An empty document is an empty mapping.
   *
   * @param originOf makes the origin of a line (1-based)
   */
  static Node read(String text, java.util.function.IntFunction<Origin> originOf, Problems problems)
      throws SyntaxError {
    try (JsonParser p = YAML.createParser(text)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        return MapNode.empty(originOf.apply(0));
      }
      Node root = value(p, originOf, "", problems);
      JsonToken extra = p.nextToken();
      if (extra != null) {
        throw new SyntaxError(line(p.currentTokenLocation()), "only one YAML document is allowed (remove the '---')");
      }
      return root;
    } catch (JsonProcessingException e) {
      throw new SyntaxError(errorLine(e), reason(e));
    } catch (IOException e) {
      throw new SyntaxError(0, e.getMessage());
    }
  }

  private static Node value(
      JsonParser p, java.util.function.IntFunction<Origin> originOf, String path, Problems problems)
      throws IOException {
    Origin here = originOf.apply(line(p.currentTokenLocation()));
    switch (p.currentToken()) {
      case START_OBJECT -> {
        Map<String, Entry> entries = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          Origin keyOrigin = originOf.apply(line(p.currentTokenLocation()));
          p.nextToken();
          String childPath = path.isEmpty() ? name : path + "." + name;
          Node child = value(p, originOf, childPath, problems);
          Entry previous = entries.putIfAbsent(name, new Entry(keyOrigin, child));
          if (previous != null) {
            problems.add(
                keyOrigin,
                "duplicate key " + childPath + " (first at line " + previous.keyOrigin().line() + ")");
          }
        }
        return new MapNode(here, entries);
      }
      case START_ARRAY -> {
        List<Node> items = new ArrayList<>();
        int i = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
          items.add(value(p, originOf, path + "[" + i++ + "]", problems));
        }
        return new ListNode(here, items);
      }
      case VALUE_NULL -> {
        return new Scalar(here, null);
      }
      default -> {
        if (p instanceof YAMLParser y && y.isCurrentAlias()) {
          problems.add(
              here,
              (path.isEmpty() ? "" : path + ": ")
                  // Not the alias's text: a literal password starting with '*' reads as one.
                  + "YAML aliases (*…) are not supported; write the value out, quoted if it starts with '*'");
          return new Scalar(here, null);
        }
        return new Scalar(here, p.getText());
      }
    }
  }

  private static int line(JsonLocation l) {
    return l == null ? 0 : Math.max(0, l.getLineNr());
  }

  private static int errorLine(JsonProcessingException e) {
    if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblemMark() != null) {
      return m.getProblemMark().getLine() + 1;
    }
    return line(e.getLocation());
  }

  private static String reason(JsonProcessingException e) {
    if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblem() != null) {
      String context = m.getContext();
      return context == null ? m.getProblem() : m.getProblem() + " (" + context.strip() + ")";
    }
    String msg = e.getOriginalMessage();
    if (msg == null) {
      return e.getClass().getSimpleName();
    }
    int nl = msg.indexOf('\n');
    return (nl < 0 ? msg : msg.substring(0, nl)).strip();
  }
}
