package dev.snapstash.core.config.diy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the assignments of a DIY backup vars file ({@code bitbucket.diy-backup.vars.sh}, or the Stash era's) without
 * running anything: it is a shell script, but only its {@code NAME=value} lines matter, and running it would run
 * whatever else it holds ({@code $(curl …)} against the instance metadata service, in the AWS part).
 *
 * <p>Understood: comments, {@code export}, single and double quotes, backslash escapes, {@code $VAR}, {@code
 * ${VAR}}, {@code ${VAR:-default}} and {@code ${VAR-default}} of variables assigned earlier in the file (a
 * variable never assigned expands to nothing, as in the shell, and is noted), arrays {@code NAME=(a b)}, and
 * {@code case ${VAR} in pattern) … ;; esac} on a variable with a known value: only the matching branch's
 * assignments count, the others are kept as {@linkplain Variable#inactiveBranch() not taken}. The body of an
 * {@code if} is read as if its condition held (conditions are not evaluated). A value computed by a command
 * ({@code $(…)} or backquotes) is not computed: it is kept as {@linkplain Variable#computed() computed}.
 *
 * <p>Pure and total: any text gives a result; a line it cannot read is listed in {@link Result#unreadable()}.
 */
public final class VarsFile {
  private static final Pattern ASSIGNMENT = Pattern.compile("^(?:export\\s+|readonly\\s+|declare\\s+(?:-\\w+\\s+)?)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$");
  private static final Pattern CASE = Pattern.compile("^case\\s+(.+?)\\s+in\\s*$");
  private static final Pattern BRANCH = Pattern.compile("^\\(?([^()]*)\\)\\s*(.*)$");

  private VarsFile() {}

  /**
   * One variable as last assigned.
   *
   * @param value its value with quotes removed and references expanded; for an array, its elements joined by one space
   * @param elements an array's elements (a scalar: its value alone)
   * @param line the line of the assignment, counting from 1
   * @param computed the value holds a command substitution, which was not run (the value is then what is left)
   * @param inactiveBranch why the assignment does not count, or null: in a case branch not taken
   * @param undefined variables it referred to that were never assigned before it
   */
  public record Variable(
      String name, String value, List<String> elements, int line, boolean computed, String inactiveBranch, List<String> undefined) {
    public Variable {
      elements = List.copyOf(elements);
      undefined = List.copyOf(undefined);
    }

    public boolean active() {
      return inactiveBranch == null;
    }
  }

  /**
   * @param variables every variable by name, in the order first assigned; an active assignment wins over one in a
   *     branch not taken, and a later one over an earlier one
   * @param unreadable lines that are neither an assignment, a comment nor control flow, with their number
   */
  public record Result(Map<String, Variable> variables, List<String> unreadable) {}

  public static Result parse(String text) {
    Map<String, Variable> vars = new LinkedHashMap<>();
    Map<String, String> values = new LinkedHashMap<>();
    List<String> unreadable = new ArrayList<>();
    List<CaseFrame> cases = new ArrayList<>();
    String[] lines = text.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      int number = i + 1;
      String line = lines[i].strip();
      while (line.endsWith("\\") && i + 1 < lines.length && !line.startsWith("#")) {
        line = line.substring(0, line.length() - 1) + lines[++i].strip();
      }
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      Matcher c = CASE.matcher(line);
      if (c.matches()) {
        Expansion subject = expand(c.group(1), values);
        cases.add(new CaseFrame(subject.computed ? null : subject.value, strip(c.group(1))));
        continue;
      }
      if (line.equals("esac")) {
        if (!cases.isEmpty()) {
          cases.remove(cases.size() - 1);
        }
        continue;
      }
      if (!cases.isEmpty() && !line.startsWith(";;") && !ASSIGNMENT.matcher(line).matches()) {
        Matcher b = BRANCH.matcher(line);
        if (b.matches() && !b.group(1).isBlank() && !b.group(1).contains("=")) {
          cases.get(cases.size() - 1).enter(b.group(1).strip());
          line = b.group(2).strip();
          if (line.isEmpty()) {
            continue;
          }
        }
      }
      if (line.startsWith(";;")) {
        continue;
      }
      if (line.endsWith(";;")) {
        line = line.substring(0, line.length() - 2).strip();
      }
      if (isControl(line)) {
        continue;
      }
      Matcher a = ASSIGNMENT.matcher(line);
      if (!a.matches()) {
        boolean exportOnly = line.startsWith("export ") && line.substring(7).strip().matches("[A-Za-z_][A-Za-z0-9_ ]*");
        if (!exportOnly && inactive(cases) == null) {
          unreadable.add(number + ": " + firstWord(line));
        }
        continue;
      }
      String name = a.group(1);
      String raw = a.group(2);
      String inactive = inactive(cases);
      Variable v;
      if (raw.startsWith("(")) {
        int close = closingParen(raw);
        List<String> elements = new ArrayList<>();
        boolean computed = false;
        List<String> undefined = new ArrayList<>();
        for (String word : words(raw.substring(1, close < 0 ? raw.length() : close))) {
          Expansion e = expand(word, values);
          elements.add(e.value);
          computed |= e.computed;
          undefined.addAll(e.undefined);
        }
        v = new Variable(name, String.join(" ", elements), elements, number, computed, inactive, undefined);
      } else {
        Expansion e = expand(raw, values);
        v = new Variable(name, e.value, List.of(e.value), number, e.computed, inactive, e.undefined);
      }
      Variable before = vars.get(name);
      if (before == null || v.active() || !before.active()) {
        vars.put(name, v);
      }
      if (v.active()) {
        values.put(name, v.value());
      }
    }
    return new Result(vars, List.copyOf(unreadable));
  }

  /** An open {@code case}: its subject's value (null if not known) and which branch the reading is in. */
  private static final class CaseFrame {
    final String subject;
    final String word;
    boolean taken;
    /** Why the current branch is not taken, or null. */
    String notTaken;

    CaseFrame(String subject, String word) {
      this.subject = subject;
      this.word = word;
    }

    /** The shell takes the first branch whose pattern matches; with the subject unknown, every branch is read. */
    void enter(String patterns) {
      if (subject == null) {
        notTaken = null;
        return;
      }
      if (taken) {
        notTaken = "in the " + patterns + " branch of case " + word + ", not taken (an earlier branch matched '" + subject + "')";
        return;
      }
      for (String p : patterns.split("\\|")) {
        if (glob(strip(p.strip()), subject)) {
          taken = true;
          notTaken = null;
          return;
        }
      }
      notTaken = "in the " + patterns + " branch of case " + word + ", not taken (" + word + " is '" + subject + "')";
    }
  }

  private static String inactive(List<CaseFrame> cases) {
    for (CaseFrame f : cases) {
      if (f.notTaken != null) {
        return f.notTaken;
      }
    }
    return null;
  }

  static boolean glob(String pattern, String value) {
    StringBuilder re = new StringBuilder();
    for (char ch : pattern.toCharArray()) {
      re.append(ch == '*' ? ".*" : ch == '?' ? "." : Pattern.quote(String.valueOf(ch)));
    }
    return value.matches(re.toString());
  }

  private static boolean isControl(String line) {
    String w = firstWord(line);
    return List.of("if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "{", "}").contains(w)
        || line.startsWith("[ ") || line.startsWith("[[ ");
  }

  private static String firstWord(String line) {
    // never past an "=": what follows may be a secret (PGPASSWORD+=…)
    String w = line.split("[\\s;=]", 2)[0];
    return w.length() > 40 ? w.substring(0, 40) + "…" : w;
  }

  private static String strip(String word) {
    String w = word.strip();
    if (w.length() >= 2 && (w.startsWith("\"") && w.endsWith("\"") || w.startsWith("'") && w.endsWith("'"))) {
      w = w.substring(1, w.length() - 1);
    }
    return w;
  }

  private static int closingParen(String raw) {
    boolean single = false;
    boolean dbl = false;
    for (int i = 1; i < raw.length(); i++) {
      char ch = raw.charAt(i);
      if (ch == '\\' && !single) {
        i++;
      } else if (ch == '\'' && !dbl) {
        single = !single;
      } else if (ch == '"' && !single) {
        dbl = !dbl;
      } else if (ch == ')' && !single && !dbl) {
        return i;
      }
    }
    return -1;
  }

  /** The words of an array's body, quotes kept for {@link #expand} (which removes them). */
  private static List<String> words(String body) {
    List<String> out = new ArrayList<>();
    StringBuilder w = new StringBuilder();
    boolean single = false;
    boolean dbl = false;
    for (int i = 0; i < body.length(); i++) {
      char ch = body.charAt(i);
      if (Character.isWhitespace(ch) && !single && !dbl) {
        if (!w.isEmpty()) {
          out.add(w.toString());
          w.setLength(0);
        }
        continue;
      }
      if (ch == '\\' && !single && i + 1 < body.length()) {
        w.append(ch).append(body.charAt(++i));
        continue;
      }
      if (ch == '\'' && !dbl) {
        single = !single;
      } else if (ch == '"' && !single) {
        dbl = !dbl;
      }
      w.append(ch);
    }
    if (!w.isEmpty()) {
      out.add(w.toString());
    }
    return out;
  }

  record Expansion(String value, boolean computed, List<String> undefined) {}

  /**
   * The value of one shell word: quotes removed, escapes applied, references expanded from {@code values}; stops at
   * unquoted whitespace (what follows, a comment or a command, is not part of the value).
   */
  static Expansion expand(String word, Map<String, String> values) {
    StringBuilder out = new StringBuilder();
    List<String> undefined = new ArrayList<>();
    boolean computed = false;
    boolean single = false;
    boolean dbl = false;
    int i = 0;
    while (i < word.length()) {
      char ch = word.charAt(i);
      if (single) {
        if (ch == '\'') {
          single = false;
        } else {
          out.append(ch);
        }
        i++;
      } else if (ch == '\'' && !dbl) {
        single = true;
        i++;
      } else if (ch == '"') {
        dbl = !dbl;
        i++;
      } else if (ch == '\\') {
        if (i + 1 < word.length()) {
          char next = word.charAt(i + 1);
          if (!dbl || "$`\"\\".indexOf(next) >= 0) {
            out.append(next);
          } else {
            out.append(ch).append(next);
          }
          i += 2;
        } else {
          i++;
        }
      } else if (ch == '`') {
        computed = true;
        int end = word.indexOf('`', i + 1);
        i = end < 0 ? word.length() : end + 1;
      } else if (ch == '$' && i + 1 < word.length() && word.charAt(i + 1) == '(') {
        computed = true;
        int depth = 0;
        int j = i + 1;
        for (; j < word.length(); j++) {
          if (word.charAt(j) == '(') {
            depth++;
          } else if (word.charAt(j) == ')' && --depth == 0) {
            break;
          }
        }
        i = j + 1;
      } else if (ch == '$' && i + 1 < word.length() && word.charAt(i + 1) == '{') {
        int end = word.indexOf('}', i + 2);
        if (end < 0) {
          out.append(word, i, word.length());
          break;
        }
        String inner = word.substring(i + 2, end);
        Matcher m = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])(.*))?").matcher(inner);
        if (m.matches()) {
          String name = m.group(1);
          String v = values.get(name);
          boolean colon = m.group(2) != null && m.group(2).startsWith(":");
          if (m.group(2) != null && (v == null || colon && v.isEmpty())) {
            Expansion d = expand(m.group(3), values);
            out.append(d.value);
            computed |= d.computed;
            undefined.addAll(d.undefined);
          } else if (v == null) {
            undefined.add(name);
          } else {
            out.append(v);
          }
        } else {
          out.append(word, i, end + 1); // ${#x}, ${x%y}…: not expanded
        }
        i = end + 1;
      } else if (ch == '$' && i + 1 < word.length() && (Character.isLetter(word.charAt(i + 1)) || word.charAt(i + 1) == '_')) {
        int j = i + 1;
        while (j < word.length() && (Character.isLetterOrDigit(word.charAt(j)) || word.charAt(j) == '_')) {
          j++;
        }
        String name = word.substring(i + 1, j);
        String v = values.get(name);
        if (v == null) {
          undefined.add(name);
        } else {
          out.append(v);
        }
        i = j;
      } else if (!dbl && (Character.isWhitespace(ch) || ch == ';')) {
        break;
      } else {
        out.append(ch);
        i++;
      }
    }
    return new Expansion(out.toString(), computed, undefined);
  }
}
