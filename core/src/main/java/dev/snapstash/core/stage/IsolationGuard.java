package dev.snapstash.core.stage;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.DatabaseAddress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Refuses a staging target that could be production, before {@code stage} writes anything: a staging database on
 * production's server under production's database name, a staging home that is, contains or lies inside
 * production's, or the same base URL. Compares what the names stand for, not how they are written: host names are
 * resolved, every address of this machine counts as one server, default ports count whether written or not, and
 * paths are compared after symbolic links are resolved (for a home not created yet, those of its nearest existing
 * ancestor).
 *
 * <p>Where the answer is in doubt (a staging database host that does not resolve), the guard refuses: a refresh
 * that cannot prove it is isolated must not run. Each refusal is one sentence naming the staging file's key to
 * change; the error kind is {@link ErrorKind#CONFIG}, since the fix is always an edit of the staging file.
 */
public final class IsolationGuard {
  /** How host names become addresses, and which addresses are this machine's. A test gives a fixed table. */
  public interface Resolver {
    /** Every address {@code host} stands for; empty when it does not resolve. */
    Set<InetAddress> resolve(String host);

    /** Whether {@code address} reaches this machine (loopback, the wildcard, or an address of a local interface). */
    boolean isLocal(InetAddress address);

    /** The system's resolver and this machine's network interfaces. */
    Resolver SYSTEM =
        new Resolver() {
          @Override
          public Set<InetAddress> resolve(String host) {
            try {
              return Arrays.stream(InetAddress.getAllByName(host)).collect(Collectors.toSet());
            } catch (UnknownHostException | SecurityException e) {
              return Set.of();
            }
          }

          @Override
          public boolean isLocal(InetAddress address) {
            if (address.isLoopbackAddress() || address.isAnyLocalAddress()) {
              return true;
            }
            try {
              return NetworkInterface.getByInetAddress(address) != null;
            } catch (SocketException e) {
              return false;
            }
          }
        };
  }

  /**
   * The production side, as its configuration and its home say.
   *
   * @param databases production's database as configured, and as its home's {@code bitbucket.properties} names it
   */
  public record Production(Path home, URI baseUrl, List<DatabaseAddress> databases) {
    public Production {
      databases = List.copyOf(databases);
    }
  }

  /**
   * The staging side, with the keys of the staging file a refusal names.
   *
   * @param database null when the staging file names no database server (refused: staging rules need SQL)
   * @param databaseKey the staging file's key prefix of the database settings, e.g. {@code database.postgresql}
   */
  public record Staging(Path home, URI baseUrl, DatabaseAddress database, String databaseKey) {}

  /** One reason to refuse: the staging key to change, and the sentence that says why. */
  public record Refusal(String key, String message) {}

  private final Resolver resolver;

  public IsolationGuard(Resolver resolver) {
    this.resolver = Objects.requireNonNull(resolver, "resolver");
  }

  /** Throws CONFIG with the first refusal as its message (the rest suppressed) unless staging is isolated. */
  public void require(Production production, Staging staging, String stagingFile) {
    List<Refusal> refusals = check(production, staging);
    if (refusals.isEmpty()) {
      return;
    }
    SnapstashException e = new SnapstashException(ErrorKind.CONFIG, stagingFile + ": " + refusals.get(0).message());
    for (Refusal r : refusals.subList(1, refusals.size())) {
      e.addSuppressed(new SnapstashException(ErrorKind.CONFIG, stagingFile + ": " + r.message()));
    }
    throw e;
  }

  /** Every reason staging could be production; empty when none. Reads the file system and resolves names only. */
  public List<Refusal> check(Production production, Staging staging) {
    List<Refusal> out = new ArrayList<>();
    home(production.home(), staging.home()).ifPresent(out::add);
    replaceable(staging.home()).ifPresent(out::add);
    baseUrl(production.baseUrl(), staging.baseUrl()).ifPresent(out::add);
    if (staging.database() == null) {
      out.add(new Refusal("database.type",
          "stage needs the staging database on a database server (database.type postgresql or mysql), since its"
              + " sanitising rules run SQL there; set database.type and its section"));
    } else {
      for (DatabaseAddress prod : production.databases()) {
        database(prod, staging.database(), staging.databaseKey()).ifPresent(out::add);
      }
    }
    return out.stream().distinct().toList();
  }

  // ---- homes

  private static java.util.Optional<Refusal> home(Path production, Path staging) {
    if (production == null || staging == null) {
      return java.util.Optional.empty();
    }
    Path p = realPath(production);
    Path s = realPath(staging);
    String shown = s.equals(staging.toAbsolutePath().normalize()) ? "" : " (resolved to " + s + ")";
    if (s.equals(p)) {
      return refuse("instance.home", "instance.home " + staging + shown + " is production's home " + p
          + "; set instance.home to a directory of its own, outside production's");
    }
    if (s.startsWith(p)) {
      return refuse("instance.home", "instance.home " + staging + shown + " lies inside production's home " + p
          + "; set instance.home to a directory outside it");
    }
    if (p.startsWith(s)) {
      return refuse("instance.home", "instance.home " + staging + shown + " contains production's home " + p
          + ", which a refresh would replace; set instance.home to a directory that does not contain it");
    }
    return java.util.Optional.empty();
  }

  /**
   * A refresh replaces the staging home, so it must be absent, empty, or a Bitbucket home (a previous refresh): a
   * mistyped {@code instance.home} such as {@code /srv} must never be emptied.
   */
  private static java.util.Optional<Refusal> replaceable(Path staging) {
    if (staging == null || !Files.isDirectory(staging)) {
      return java.util.Optional.empty();
    }
    try (var entries = Files.list(staging)) {
      if (entries.findAny().isEmpty()
          || Files.exists(staging.resolve("shared/bitbucket.properties"), LinkOption.NOFOLLOW_LINKS)) {
        return java.util.Optional.empty();
      }
    } catch (IOException e) {
      return refuse("instance.home", "instance.home " + staging + " cannot be read (" + e.getClass().getSimpleName()
          + "), so the guard cannot tell what a refresh would replace; set instance.home to a directory snapstash may read");
    }
    return refuse("instance.home", "instance.home " + staging + " holds files but no shared/bitbucket.properties, so it"
        + " is not a Bitbucket home that a refresh may replace; set instance.home to an empty or new directory, or to"
        + " the home of an earlier refresh");
  }

  /**
   * The path with every symbolic link resolved: {@code toRealPath} of its nearest existing ancestor, with the
   * components that do not exist yet appended (a staging home is often created by its first refresh).
   */
  static Path realPath(Path path) {
    Path abs = path.toAbsolutePath().normalize();
    Path existing = abs;
    List<Path> missing = new ArrayList<>();
    while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
      missing.add(0, existing.getFileName());
      existing = existing.getParent();
    }
    if (existing == null) {
      return abs;
    }
    Path real;
    try {
      real = existing.toRealPath();
    } catch (IOException e) {
      // A dangling link, or an ancestor we may not read: compare as written, the best this machine can tell.
      real = existing;
    }
    for (Path m : missing) {
      real = real.resolve(m.toString());
    }
    return real.normalize();
  }

  // ---- base URLs

  private static java.util.Optional<Refusal> baseUrl(URI production, URI staging) {
    if (production == null || staging == null) {
      return java.util.Optional.empty();
    }
    String p = normalise(production);
    if (p.equals(normalise(staging))) {
      return refuse("instance.base-url", "instance.base-url " + staging + " is production's base URL " + production
          + "; set instance.base-url to the staging instance's own URL");
    }
    return java.util.Optional.empty();
  }

  /** Scheme and host in lower case, the scheme's default port left out, no trailing '/': how browsers compare. */
  static String normalise(URI url) {
    String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
    String host = url.getHost() == null ? String.valueOf(url.getAuthority()) : url.getHost().toLowerCase(Locale.ROOT);
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    int port = url.getPort();
    if ((scheme.equals("http") && port == 80) || (scheme.equals("https") && port == 443)) {
      port = -1;
    }
    String path = url.getPath() == null ? "" : url.getPath();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    return scheme + "://" + host + (port == -1 ? "" : ":" + port) + path;
  }

  // ---- databases

  private java.util.Optional<Refusal> database(DatabaseAddress production, DatabaseAddress staging, String key) {
    if (!family(production).equals(family(staging))) {
      return java.util.Optional.empty();
    }
    Set<InetAddress> stagingAddresses = resolver.resolve(staging.host());
    if (stagingAddresses.isEmpty()) {
      return refuse(key + ".host", key + ".host " + staging.host() + " does not resolve, so the guard cannot tell it"
          + " from production's database server; set " + key + ".host to a name or address this machine resolves");
    }
    if (production.port() != staging.port() || !sameServer(production.host(), staging.host(), stagingAddresses)) {
      return java.util.Optional.empty();
    }
    if (!production.database().equalsIgnoreCase(staging.database())) {
      return java.util.Optional.empty();
    }
    return refuse(key + ".database", "the staging database " + staging + " is production's database " + production
        + " (the same server, the same database name); set " + key + ".database or " + key
        + ".host to a database of staging's own");
  }

  private boolean sameServer(String productionHost, String stagingHost, Set<InetAddress> staging) {
    if (productionHost.equalsIgnoreCase(stagingHost)) {
      return true;
    }
    Set<InetAddress> production = resolver.resolve(productionHost);
    if (production.isEmpty()) {
      // Production's name means nothing here, so no address of it can be staging's.
      return false;
    }
    if (production.stream().anyMatch(staging::contains)) {
      return true;
    }
    return production.stream().allMatch(resolver::isLocal) && staging.stream().allMatch(resolver::isLocal);
  }

  private static String family(DatabaseAddress a) {
    return a.scheme().equals("postgresql") ? "postgresql" : "mysql";
  }

  private static java.util.Optional<Refusal> refuse(String key, String message) {
    return java.util.Optional.of(new Refusal(key, message));
  }

  /** The distinct production databases among {@code candidates} (null entries left out), for {@link Production}. */
  public static List<DatabaseAddress> distinct(List<DatabaseAddress> candidates) {
    Set<DatabaseAddress> out = new LinkedHashSet<>();
    for (DatabaseAddress a : candidates) {
      if (a != null) {
        out.add(a);
      }
    }
    return List.copyOf(out);
  }
}
