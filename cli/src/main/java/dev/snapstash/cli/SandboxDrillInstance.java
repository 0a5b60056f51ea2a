package dev.snapstash.cli;

import dev.snapstash.core.api.DrillInstance;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.sandbox.DbKind;
import dev.snapstash.sandbox.RunningSandbox;
import dev.snapstash.sandbox.SandboxOptions;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.load.LoadGenerator;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The sandbox as a drill's instance: it understands the sandbox's schema, so drills serve sandbox-made backups; a
 * real Bitbucket's restored copy is checked up to the database cross-check, and serving it needs Bitbucket itself.
 */
final class SandboxDrillInstance implements DrillInstance {
  private final ProcessRunner runner;

  SandboxDrillInstance(ProcessRunner runner) {
    this.runner = runner;
  }

  @Override
  public Running start(Launch launch) {
    SandboxOptions o = likeTheInstance(SandboxOptions.defaults(launch.home().getParent()).withPort(0), launch.baseUrl());
    if (launch.embeddedDatabase() != null) {
      var a = launch.embeddedDatabase();
      o = o.withDatabase(DbKind.H2, null, a.user(), a.passwordFile());
    }
    RunningSandbox instance = RunningSandbox.start(o, runner);
    return new Running() {
      @Override
      public List<String> cloneAll(Path into) throws IOException {
        return SandboxDrillInstance.cloneAll(instance, into, runner);
      }

      @Override
      public void close() {
        instance.close();
      }
    };
  }

  /**
   * Mirror-clones every repository of {@code instance} over HTTP into {@code into}, one directory per repository
   * named {@code PROJECT_slug}; returns the {@code PROJECT/slug} paths cloned.
   */
  static List<String> cloneAll(RunningSandbox instance, Path into, ProcessRunner runner) throws IOException {
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
  static SandboxOptions likeTheInstance(SandboxOptions o, URI base) {
    if (base == null) {
      return o;
    }
    String path = base.getPath();
    return o.withTls("https".equalsIgnoreCase(base.getScheme()))
        .withContextPath(path == null || path.isEmpty() || path.equals("/") ? null : path);
  }
}
