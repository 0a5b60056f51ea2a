package dev.snapstash.core.spi;

import java.util.ArrayList;
import java.util.List;

/**
 * What a preflight check found, collected rather than thrown so that {@code snapstash check} can list every
 * problem at once. Strategies add to it from {@code check}; the engine refuses to lock if it holds any problem.
 *
 * <p>Not thread-safe; one per check run.
 */
public final class Findings {
  /**
   * One line of a check: a fact ("rsync 3.2.7"), a problem ("pg_dump not found; install postgresql-client"), or a
   * warning: something to fix that does not stop a run ("backup.root is readable by other users").
   */
  public record Finding(
      String subject, String message, boolean problem, dev.snapstash.core.error.ErrorKind kind, boolean warning) {}

  private final List<Finding> all = new ArrayList<>();

  public void ok(String subject, String message) {
    all.add(new Finding(subject, message, false, null, false));
  }

  /** Worth fixing, but no reason to refuse a run: {@code check} shows it, a backup logs it. */
  public void warning(String subject, String message) {
    all.add(new Finding(subject, message, false, null, true));
  }

  /** A problem of kind PRECONDITION. */
  public void problem(String subject, String message) {
    problem(subject, message, dev.snapstash.core.error.ErrorKind.PRECONDITION);
  }

  /** A problem whose kind decides the exit code when it stops a run (AUTHENTICATION, UNREACHABLE, …). */
  public void problem(String subject, String message, dev.snapstash.core.error.ErrorKind kind) {
    all.add(new Finding(subject, message, true, kind, false));
  }

  /** Records a failed check from the exception that reported it, keeping its kind. */
  public void problem(String subject, dev.snapstash.core.error.SnapstashException e) {
    problem(subject, e.getMessage(), e.kind());
  }

  /** Appends what another (independently run) check found, in its order. */
  public void addAll(Findings other) {
    all.addAll(other.all);
  }

  public List<Finding> all() {
    return List.copyOf(all);
  }

  public List<Finding> problems() {
    return all.stream().filter(Finding::problem).toList();
  }

  public List<Finding> warnings() {
    return all.stream().filter(Finding::warning).toList();
  }

  public boolean hasProblems() {
    return all.stream().anyMatch(Finding::problem);
  }
}
