package dev.snapstash.cli;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.RestoreEngine;
import dev.snapstash.core.spi.ScratchDatabase;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Progress;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.sandbox.RunningSandbox;
import dev.snapstash.sandbox.SandboxOptions;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.load.LoadGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code verify --drill}: the restore rehearsed end to end in scratch space. Restores the home and the database
 * (into a private scratch server), starts an instance on the copy, clones every repository over HTTP, and measures
 * the time to a usable instance (the backup's RTO on this machine). The instance is the project's sandbox, which
 * understands the sandbox's schema; a real Bitbucket's database is restored and cross-checked the same way, but
 * serving it needs Bitbucket itself.
 */
final class Drill {
  private Drill() {}

  static List<VerifyEngine.Check> run(Wiring wiring, String tag, Path work, ProcessRunner runner) {
    SnapstashConfig config = wiring.config();
    List<VerifyEngine.Check> checks = new ArrayList<>();
    var factory = wiring.database().scratch(work);
    Path home = work.resolve("drill").resolve("home");
    long t0 = System.nanoTime();
    ScratchDatabase db = factory.map(f -> f.create(home)).orElse(null);
    try {
      var database = db != null ? db.strategy() : wiring.database();
      // With the restore's own checks of its result, as a real restore runs them: they count towards the RTO.
      RestoreEngine.Report restored =
          new RestoreEngine(wiring.store(), wiring.disk(), database, dev.snapstash.core.bitbucket.InstanceProbe.none(), Clock.systemUTC(), System::nanoTime)
              .restore(new RestoreEngine.Options(tag, home, false, false, true), Progress.NONE);
      checks.add(new VerifyEngine.Check("drill-restore", true, "home and database restored into scratch space"));
      for (VerifyEngine.Check c : restored.verification().checks()) {
        checks.add(new VerifyEngine.Check("drill-" + c.name(), c.ok(), c.detail()));
      }
      SandboxOptions o = likeTheInstance(SandboxOptions.defaults(home.getParent()).withPort(0), config);
      // A database in the home (H2) is opened where the restore put it; a server's is named by bitbucket.properties.
      boolean inHome = database.restoredDatabase().isEmpty();
      if (db != null && inHome) {
        var a = db.access();
        o = o.withDatabase(DbKind.H2, null, a.user(), a.passwordFile());
      }
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
      try (RunningSandbox instance = RunningSandbox.start(o, runner)) {
        int n = cloneAll(instance, work.resolve("clones"), runner).size();
        long rto = Duration.ofNanos(System.nanoTime() - t0).toMillis();
        checks.add(new VerifyEngine.Check("drill-clone", true, n + " repositories cloned over HTTP from the restored instance"));
        checks.add(new VerifyEngine.Check("drill-rto", true, String.format(Locale.ROOT, "usable instance %.1f s after the restore began", rto / 1000.0)));
      }
    } catch (SnapstashException | java.io.IOException e) {
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
  private static VerifyEngine.Check databaseCheck(Path home, dev.snapstash.core.spi.DatabaseStrategy restoredInto) {
    String url = dev.snapstash.core.engine.BitbucketProperties.get(home, "jdbc.url");
    var named = dev.snapstash.core.spi.DatabaseAddress.parse(url);
    var wrote = restoredInto.restoredDatabase().map(dev.snapstash.core.spi.JdbcLogin::address);
    boolean ok = named.isPresent() && wrote.isPresent() && named.get().sameDatabaseAs(wrote.get());
    return new VerifyEngine.Check(
        "drill-database", ok,
        ok ? "the restored instance uses the restored database " + wrote.get()
            : "the restored bitbucket.properties names " + named.map(Object::toString).orElse(String.valueOf(url))
                + ", not the restored database " + wrote.map(Object::toString).orElse("(none)")
                + "; the instance was not started on it");
  }

  /**
   * Mirror-clones every repository of {@code instance} over HTTP into {@code into}, one directory per repository
   * named {@code PROJECT_slug}; returns the {@code PROJECT/slug} paths cloned.
   */
  static List<String> cloneAll(RunningSandbox instance, Path into, ProcessRunner runner) throws java.io.IOException {
    Files.createDirectories(into);
    List<String> cloned = new ArrayList<>();
    for (SandboxDatabase.Repository r : instance.database().allRepositories()) {
      String path = r.path();
      String url = instance.baseUrl() + "/scm/" + path.toLowerCase(Locale.ROOT) + ".git";
      runner.run(LoadGenerator.command(
          into, "admin", instance.adminPassword(), instance.caFile(), "clone", "-q", "--mirror", url, path.replace('/', '_')));
      cloned.add(path);
    }
    return cloned;
  }

  /**
   * The drill's instance serves the configured base URL's shape: its context path, and TLS when it is https, so
   * the clone URLs the drill uses are built as they are against the real instance.
   */
  static SandboxOptions likeTheInstance(SandboxOptions o, SnapstashConfig config) {
    java.net.URI base = config.instance().baseUrl();
    if (base == null) {
      return o;
    }
    String path = base.getPath();
    return o.withTls("https".equalsIgnoreCase(base.getScheme()))
        .withContextPath(path == null || path.isEmpty() || path.equals("/") ? null : path);
  }
}
