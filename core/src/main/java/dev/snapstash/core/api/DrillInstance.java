package dev.snapstash.core.api;

import dev.snapstash.core.spi.ScratchDatabase;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;

/**
 * What a drill starts on a restored copy to prove it usable: an instance that serves the restored home and
 * database, and lets every repository be cloned from it over HTTP. Core knows no such instance; the caller gives
 * one ({@code snapstash verify --drill} gives the sandbox, which serves sandbox-made backups).
 */
@FunctionalInterface
public interface DrillInstance {
  /**
   * Where to start the instance.
   *
   * @param home the restored home
   * @param baseUrl the configured instance's base URL, whose shape (TLS, context path) the instance copies so the
   *     clone URLs are built as they are against the real one; null when none is configured
   * @param embeddedDatabase how to open a database restored into the home (H2) in its scratch place; null when the
   *     database is a server's, named by the restored {@code bitbucket.properties}
   */
  record Launch(Path home, URI baseUrl, ScratchDatabase.Access embeddedDatabase) {}

  /** A started instance; closing it stops it and releases what it holds. */
  interface Running extends AutoCloseable {
    /** Clones every repository the instance serves into {@code into}; returns their {@code PROJECT/slug} paths. */
    List<String> cloneAll(Path into) throws IOException;

    @Override
    void close();
  }

  /** Starts an instance on {@code launch}'s copy and returns once it serves. */
  Running start(Launch launch);
}
