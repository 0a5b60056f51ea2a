package dev.snapstash.core.api;

import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.engine.BitbucketProperties;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.JdbcLogin;
import dev.snapstash.core.stage.StageVerifier;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;

/**
 * {@code snapstash stage verify}: the staging file's instance, checked through its REST API by {@link
 * StageVerifier}, with the file's TLS, proxy and credential settings. The facade is built from the staging file.
 */
final class StagingVerify {
  private StagingVerify() {}

  static StageVerifier.Verification run(Composition staging, String stagingFile) {
    SnapstashConfig c = staging.config();
    URI base = c.instance().baseUrl();
    if (base == null) {
      throw new SnapstashException(ErrorKind.CONFIG,
          stagingFile + ": instance.base-url is not set; stage verify checks the staging instance there");
    }
    String license = null;
    Path licenseFile = c.stage() == null ? null : c.stage().licenseFile();
    if (licenseFile != null) {
      try {
        license = Files.readString(licenseFile, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new SnapstashException(ErrorKind.CONFIG,
            stagingFile + ": cannot read stage.license-file " + licenseFile + ": " + e.getClass().getSimpleName());
      }
    }
    var login = staging.database().restoredDatabase();
    var expected = new StageVerifier.Expected(
        base, c.stage() == null ? "" : c.stage().mailSink(), license, login.map(JdbcLogin::address).orElse(null),
        homeJdbcUrl(c.instance().home()), "instance.username and instance.password");
    String authorization = authorization(c, stagingFile);
    Duration timeout = c.backup().requestTimeout();
    HttpClient http = staging.transport().client(timeout);
    String root = base.toString().endsWith("/") ? base.toString().substring(0, base.toString().length() - 1) : base.toString();
    StageVerifier.Http get = (path, authenticated) -> {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(root + path)).timeout(timeout)
          .header("Accept", "application/json").GET();
      if (authenticated && authorization != null) {
        b.header("Authorization", authorization);
      }
      try {
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new StageVerifier.Answer(r.statusCode(), r.body());
      } catch (IOException e) {
        throw new SnapstashException(ErrorKind.UNREACHABLE,
            "cannot reach the staging instance at " + root + " to verify it (" + e.getClass().getSimpleName()
                + "): check instance.base-url of " + stagingFile + " and that the instance is running", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SnapstashException(ErrorKind.INTERRUPTED, "interrupted while verifying the staging instance", e);
      }
    };
    return new StageVerifier(get, expected).verify();
  }

  /** HTTP Basic from instance.username and instance.password (SYSADMIN: the admin resources need it), or none. */
  private static String authorization(SnapstashConfig c, String stagingFile) {
    var i = c.instance();
    if (i.username() == null || i.password() == null) {
      return null;
    }
    String password;
    try {
      password = i.password().reveal();
    } catch (SnapstashException e) {
      throw new SnapstashException(e.kind(), stagingFile + ": " + e.getMessage());
    }
    return "Basic " + Base64.getEncoder().encodeToString((i.username() + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  /** {@code jdbc.url} of the staging home, when this machine can read it: what the instance started with. */
  private static String homeJdbcUrl(Path home) {
    try {
      if (home == null || !Files.isReadable(home.resolve(BitbucketProperties.RELATIVE_PATH))) {
        return null;
      }
      return BitbucketProperties.get(home, "jdbc.url");
    } catch (SnapstashException e) {
      return null;
    }
  }
}
