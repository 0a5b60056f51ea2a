package dev.snapstash.core.api;

import dev.snapstash.core.bitbucket.InstanceProbe;
import dev.snapstash.core.engine.BitbucketProperties;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.DatabaseAddress;
import dev.snapstash.core.spi.JdbcLogin;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What answers at the configured instance's base URL, asked only when a restore writes into that instance's home
 * or its database: restored elsewhere, into another database, the copy may well be made while it runs.
 */
final class LiveInstance {
  private LiveInstance() {}

  static InstanceProbe probe(Composition configured, Composition restoring, Path target) {
    var c = configured.config();
    if (c.instance().baseUrl() == null) {
      return InstanceProbe.none();
    }
    List<String> into = new ArrayList<>();
    if (samePath(target, c.instance().home())) {
      into.add("its home " + c.instance().home());
    }
    var own = liveDatabase(configured);
    var restored = restoring.database().restoredDatabase();
    if (own.isPresent() && restored.isPresent() && own.get().sameDatabaseAs(restored.get().address())) {
      into.add("its database " + own.get());
    }
    if (into.isEmpty()) {
      return InstanceProbe.none();
    }
    InstanceProbe http = InstanceProbe.http(c.instance().baseUrl(), configured.transport(), Duration.ofSeconds(5));
    String where = String.join(" and ", into);
    return () -> http.answer().map(a -> new InstanceProbe.Answer(
        a.what() + " (instance.base-url), and this restore would write into " + where, a.certain()));
  }

  /**
   * The database the configured instance works in: the one its home's {@code bitbucket.properties} names, which
   * is what Bitbucket connects to, when that file can be read here; the configured one otherwise. Empty when its
   * database lives in its home (H2), which the home check covers.
   */
  private static Optional<DatabaseAddress> liveDatabase(Composition configured) {
    Path home = configured.config().instance().home();
    try {
      if (home != null && Files.isReadable(home.resolve(BitbucketProperties.RELATIVE_PATH))) {
        String url = BitbucketProperties.get(home, "jdbc.url");
        return url == null ? Optional.empty() : DatabaseAddress.parse(url);
      }
    } catch (SnapstashException e) {
      // Unreadable: fall back to what the configuration says.
    }
    return configured.database().restoredDatabase().map(JdbcLogin::address);
  }

  private static boolean samePath(Path a, Path b) {
    Path ra = a.toAbsolutePath().normalize();
    Path rb = b.toAbsolutePath().normalize();
    try {
      ra = ra.toRealPath();
      rb = rb.toRealPath();
    } catch (IOException e) {
      // One does not exist yet: compare as written.
    }
    return ra.equals(rb);
  }
}
