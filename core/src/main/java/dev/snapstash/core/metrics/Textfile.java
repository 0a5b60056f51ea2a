package dev.snapstash.core.metrics;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A node_exporter textfile: the Prometheus text exposition format (version 0.0.4), written so that the collector
 * never reads half of it (a temporary file in the same directory, fsync, rename, fsync of the directory) and read
 * back strictly, so that the next run carries over what this run does not know.
 *
 * <p>Written by hand rather than with the Prometheus client's model and text writer: those add three jars for some
 * forty lines of escaping, and the client has no parser, which reading the previous file needs anyway.
 */
public final class Textfile {
  /** Where it is written; its directory is the collector's ({@code --collector.textfile.directory}). */
  private final Path file;

  public Textfile(Path file) {
    this.file = file.toAbsolutePath();
  }

  public Path file() {
    return file;
  }

  /** One time series: its labels in the order written, and its value. */
  public record Sample(SortedMap<String, String> labels, double value) {
    public Sample {
      labels = new TreeMap<>(labels);
    }

    public static Sample of(double value, String... labelPairs) {
      SortedMap<String, String> m = new TreeMap<>();
      for (int i = 0; i < labelPairs.length; i += 2) {
        m.put(labelPairs[i], labelPairs[i + 1]);
      }
      return new Sample(m, value);
    }
  }

  /** One metric: name, help, type ({@code gauge} for every snapstash metric) and its series. */
  public record Family(String name, String help, String type, List<Sample> samples) {
    public Family {
      samples = List.copyOf(samples);
    }
  }

  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
  private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

  /** The families in the text format, in the order given; names and labels are checked, values escaped. */
  public static String render(List<Family> families) {
    StringBuilder sb = new StringBuilder();
    Set<String> names = new HashSet<>();
    for (Family f : families) {
      if (!NAME.matcher(f.name()).matches() || !names.add(f.name()) || !TYPES.contains(f.type())) {
        throw new IllegalArgumentException("bad or repeated metric family " + f.name() + " (" + f.type() + ")");
      }
      sb.append("# HELP ").append(f.name()).append(' ').append(escapeHelp(f.help())).append('\n');
      sb.append("# TYPE ").append(f.name()).append(' ').append(f.type()).append('\n');
      Set<SortedMap<String, String>> seen = new HashSet<>();
      for (Sample s : f.samples()) {
        if (!seen.add(s.labels())) {
          throw new IllegalArgumentException("repeated series of " + f.name() + ": " + s.labels());
        }
        sb.append(f.name());
        if (!s.labels().isEmpty()) {
          sb.append('{');
          String sep = "";
          for (Map.Entry<String, String> l : s.labels().entrySet()) {
            if (!LABEL.matcher(l.getKey()).matches() || l.getKey().startsWith("__")) {
              throw new IllegalArgumentException("bad label name " + l.getKey() + " in " + f.name());
            }
            sb.append(sep).append(l.getKey()).append("=\"").append(escapeValue(l.getValue())).append('"');
            sep = ",";
          }
          sb.append('}');
        }
        sb.append(' ').append(number(s.value())).append('\n');
      }
    }
    return sb.toString();
  }

  static String number(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    } else if (Double.isInfinite(v)) {
      return v > 0 ? "+Inf" : "-Inf";
    }
    // Plain digits, as people read them in the file: 1765324800.123 rather than 1.765324800123E9.
    return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
  }

  private static String escapeHelp(String s) {
    return s.replace("\\", "\\\\").replace("\n", "\\n");
  }

  private static String escapeValue(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  private static final Pattern SAMPLE =
      Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? ([^ ]+)(?: (-?[0-9]+))?");
  private static final Pattern LABEL_PAIR =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"(,|$)");

  /**
   * Reads the text format strictly: every line is a HELP, a TYPE, another comment or a sample; each family has
   * one HELP and one TYPE before its samples, its samples are together, and no series appears twice.
   *
   * @throws IllegalArgumentException naming the line that breaks a rule
   */
  public static List<Family> parse(String text) {
    Map<String, String[]> meta = new LinkedHashMap<>(); // name -> {help, type}
    Map<String, List<Sample>> samples = new LinkedHashMap<>();
    Set<String> closed = new HashSet<>();
    String current = null;
    String[] lines = text.split("\n", -1);
    if (!text.isEmpty() && !text.endsWith("\n")) {
      throw new IllegalArgumentException("the last line is not ended by a newline (a partial file?)");
    }
    for (int i = 0; i < lines.length - 1; i++) {
      String line = lines[i];
      String where = "line " + (i + 1) + ": ";
      if (line.isBlank()) {
        continue;
      }
      if (line.startsWith("#")) {
        String[] p = line.split(" ", 4);
        if (p.length >= 3 && (p[1].equals("HELP") || p[1].equals("TYPE"))) {
          String name = p[2];
          if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(where + "bad metric name " + name);
          }
          if (samples.containsKey(name)) {
            throw new IllegalArgumentException(where + p[1] + " of " + name + " after its samples");
          }
          String[] m = meta.computeIfAbsent(name, n -> new String[2]);
          int slot = p[1].equals("HELP") ? 0 : 1;
          if (m[slot] != null) {
            throw new IllegalArgumentException(where + "a second " + p[1] + " of " + name);
          }
          String rest = p.length == 4 ? p[3] : "";
          if (slot == 1 && !TYPES.contains(rest)) {
            throw new IllegalArgumentException(where + "unknown type '" + rest + "' of " + name);
          }
          m[slot] = slot == 0 ? unescapeHelp(rest, where) : rest;
        }
        continue;
      }
      Matcher s = SAMPLE.matcher(line);
      if (!s.matches()) {
        throw new IllegalArgumentException(where + "not a sample: " + line);
      }
      String name = s.group(1);
      String[] m = meta.get(name);
      if (m == null || m[0] == null || m[1] == null) {
        throw new IllegalArgumentException(where + name + " has no HELP and TYPE before its first sample");
      }
      if (!name.equals(current)) {
        if (current != null) {
          closed.add(current);
        }
        if (closed.contains(name)) {
          throw new IllegalArgumentException(where + "the samples of " + name + " are not together");
        }
        current = name;
      }
      SortedMap<String, String> labels = labels(s.group(2), where);
      double value = value(s.group(3), where);
      List<Sample> list = samples.computeIfAbsent(name, n -> new ArrayList<>());
      if (list.stream().anyMatch(x -> x.labels().equals(labels))) {
        throw new IllegalArgumentException(where + "a second series " + name + labels);
      }
      list.add(new Sample(labels, value));
    }
    List<Family> out = new ArrayList<>();
    meta.forEach((name, m) -> out.add(new Family(name, m[0] == null ? "" : m[0], m[1] == null ? "untyped" : m[1],
        samples.getOrDefault(name, List.of()))));
    return out;
  }

  private static SortedMap<String, String> labels(String body, String where) {
    SortedMap<String, String> labels = new TreeMap<>();
    if (body == null || body.isEmpty()) {
      return labels;
    }
    Matcher l = LABEL_PAIR.matcher(body);
    int at = 0;
    while (at < body.length()) {
      if (!l.find(at) || l.start() != at) {
        throw new IllegalArgumentException(where + "bad labels {" + body + "}");
      }
      String value = l.group(2).replace("\\\\", "\u0000").replace("\\\"", "\"").replace("\\n", "\n").replace("\u0000", "\\");
      if (labels.put(l.group(1), value) != null) {
        throw new IllegalArgumentException(where + "label " + l.group(1) + " twice");
      }
      at = l.end();
    }
    return labels;
  }

  private static double value(String v, String where) {
    switch (v) {
      case "NaN":
        return Double.NaN;
      case "+Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      default:
        if (!v.matches("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?")) {
          throw new IllegalArgumentException(where + "bad value " + v);
        }
        return Double.parseDouble(v);
    }
  }

  private static String unescapeHelp(String s, String where) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length() && (s.charAt(i + 1) == '\\' || s.charAt(i + 1) == 'n')) {
        sb.append(s.charAt(++i) == 'n' ? '\n' : '\\');
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  /** The families of the file as it is; empty when there is no file yet. */
  public List<Family> read() throws IOException {
    try {
      return parse(Files.readString(file, StandardCharsets.UTF_8));
    } catch (NoSuchFileException e) {
      return List.of();
    }
  }

  /**
   * Reads the file, lets {@code update} turn its families into the new ones, and writes those in their place, all
   * under a lock on a hidden file beside it, so that two runs (a backup and a verify) never lose each other's
   * values. The collector reads only {@code *.prom}; the lock and the temporary file do not match that.
   *
   * @param update gets the families as they are (empty for a file that is missing or not in the format)
   * @return whether the previous file was unreadable and was replaced without its values
   */
  public boolean update(java.util.function.UnaryOperator<List<Family>> update) throws IOException {
    Path dir = file.getParent();
    Files.createDirectories(dir);
    Path lockFile = dir.resolve("." + file.getFileName() + ".lock");
    try (FileChannel lockChannel =
            FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockChannel.lock()) {
      List<Family> previous;
      boolean unreadable = false;
      try {
        previous = read();
      } catch (IllegalArgumentException e) {
        previous = List.of();
        unreadable = true;
      }
      write(render(update.apply(previous)));
      return unreadable;
    }
  }

  private void write(String text) throws IOException {
    Path dir = file.getParent();
    Path tmp = dir.resolve("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
    try {
      try (FileChannel ch =
          FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
          ch.write(b);
        }
        ch.force(true);
      }
      // node_exporter runs as its own user: the file must be readable by others (it holds no secret).
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot rename " + tmp + " over " + file + " atomically", e);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems refuse to sync a directory; the rename is done either way.
    }
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "textfile %s", file);
  }
}
