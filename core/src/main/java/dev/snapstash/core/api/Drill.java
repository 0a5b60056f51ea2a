package dev.snapstash.core.api;

import dev.snapstash.core.engine.BitbucketProperties;
import dev.snapstash.core.engine.RestoreEngine;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.DatabaseAddress;
import dev.snapstash.core.spi.DatabaseStrategy;
import dev.snapstash.core.spi.JdbcLogin;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.core.spi.ScratchDatabase;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * The restore rehearsed end to end in scratch space: restores the home and the database (into a private scratch
 * server), starts an instance on the copy, clones every repository over HTTP, and measures the time to a usable
 * instance (the backup's RTO on this machine). The instance is the caller's {@link DrillInstance}; a database that
 * instance cannot serve is still restored and cross-checked the same way.
 *
 * <p>Here rather than in the CLI: it is restore logic (which database a restored copy names, what counts as the
 * RTO) that a scheduled drill or any other caller needs as much as {@code verify --drill}; only starting the
 * instance depends on what serves it.
 */
final class Drill {
  private final Composition composition;
  private final Function<DatabaseStrategy, RestoreEngine> restoreEngine;
  private final DrillInstance instances;

  /** @param restoreEngine the restore engine of this composition, writing the database with the strategy given */
  Drill(Composition composition, Function<DatabaseStrategy, RestoreEngine> restoreEngine, DrillInstance instances) {
    this.composition = composition;
    this.restoreEngine = restoreEngine;
    this.instances = instances;
  }

  /** The drill's checks, each named {@code drill-…}; a failure is a failed check, not an exception. */
  List<VerifyEngine.Check> run(String tag, Path work) {
    List<VerifyEngine.Check> checks = new ArrayList<>();
    var factory = composition.database().scratch(work);
    Path home = work.resolve("drill").resolve("home");
    long t0 = System.nanoTime();
    ScratchDatabase db = factory.map(f -> f.create(home)).orElse(null);
    try {
      DatabaseStrategy database = db != null ? db.strategy() : composition.database();
      // With the restore's own checks of its result, as a real restore runs them: they count towards the RTO.
      RestoreEngine.Report restored =
          restoreEngine.apply(database).restore(new RestoreEngine.Options(tag, home, false, false, true), Progress.NONE);
      checks.add(new VerifyEngine.Check("drill-restore", true, "home and database restored into scratch space"));
      for (VerifyEngine.Check c : restored.verification().checks()) {
        checks.add(new VerifyEngine.Check("drill-" + c.name(), c.ok(), c.detail()));
      }
      // A database in the home (H2) is opened where the restore put it; a server's is named by bitbucket.properties.
      boolean inHome = database.restoredDatabase().isEmpty();
      ScratchDatabase.Access embedded = db != null && inHome ? db.access() : null;
      // An external database is found where Bitbucket finds it, in the restored bitbucket.properties, which the
      // restore pointed at the scratch database. Checked before the start: an instance started on a copy that
      // still named the backed-up database would write into it.
      if (!inHome) {
        VerifyEngine.Check named = databaseCheck(home, database);
        checks.add(named);
        if (!named.ok()) {
          return checks;
        }
      }
      URI baseUrl = composition.config().instance().baseUrl();
      try (DrillInstance.Running instance = instances.start(new DrillInstance.Launch(home, baseUrl, embedded))) {
        int n = instance.cloneAll(work.resolve("clones")).size();
        long rto = Duration.ofNanos(System.nanoTime() - t0).toMillis();
        checks.add(new VerifyEngine.Check("drill-clone", true, n + " repositories cloned over HTTP from the restored instance"));
        checks.add(new VerifyEngine.Check("drill-rto", true, String.format(Locale.ROOT, "usable instance %.1f s after the restore began", rto / 1000.0)));
      }
    } catch (SnapstashException | IOException e) {
      checks.add(new VerifyEngine.Check("drill", false, e.getMessage()));
    } finally {
      if (db != null) {
        db.close();
      }
    }
    return checks;
  }

  /**
   * "drill-database": the restored home names the database the restore wrote, not the backed-up one, so an
   * instance started on it uses the copy.
   */
  private static VerifyEngine.Check databaseCheck(Path home, DatabaseStrategy restoredInto) {
    String url = BitbucketProperties.get(home, "jdbc.url");
    Optional<DatabaseAddress> named = DatabaseAddress.parse(url);
    Optional<DatabaseAddress> wrote = restoredInto.restoredDatabase().map(JdbcLogin::address);
    boolean ok = named.isPresent() && wrote.isPresent() && named.get().sameDatabaseAs(wrote.get());
    return new VerifyEngine.Check(
        "drill-database", ok,
        ok ? "the restored instance uses the restored database " + wrote.get()
            : "the restored bitbucket.properties names " + named.map(Object::toString).orElse(String.valueOf(url))
                + ", not the restored database " + wrote.map(Object::toString).orElse("(none)")
                + "; the instance was not started on it");
  }
}
