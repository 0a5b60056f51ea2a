package dev.snapstash.core.stage;

import com.fasterxml.jackson.databind.JsonNode;
import dev.snapstash.core.spi.DatabaseAddress;
import dev.snapstash.core.util.Json;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code snapstash stage verify}: the seed's post-start checks of a running staging instance, through its REST API
 * only, each with what was seen. Every resource, status and field read here is in bitbucket-protocol.md with its
 * evidence (docs/staging.md lists them); where Bitbucket's answer is not documented, every plausible one is taken.
 * The transport is given (the facade's TLS and proxy settings for the staging base URL), so this class is pure.
 */
public final class StageVerifier {
  /** A check's outcome; only FAIL fails the verification. */
  public enum Outcome {
    PASS,
    FAIL,
    /** The instance's answer cannot tell (for example, no project to read a link from): said, not failed. */
    UNKNOWN
  }

  /** One check: its id (named in a failure), outcome, and what was seen and expected, never a secret. */
  public record Check(String id, Outcome outcome, String seen, String expected) {}

  /** One answer of the instance. */
  public record Answer(int status, String body) {
    JsonNode json() {
      try {
        return Json.MAPPER.readTree(body == null || body.isEmpty() ? "null" : body);
      } catch (IOException e) {
        return null;
      }
    }
  }

  /** A GET of a path under the base URL, with the staging file's credentials when {@code authenticated}. */
  @FunctionalInterface
  public interface Http {
    Answer get(String path, boolean authenticated);
  }

  /**
   * What the checks compare with, from the staging file.
   *
   * @param baseUrl instance.base-url of the staging file
   * @param mailSink stage.mail-sink ({@code host:port}), or empty
   * @param license the text of stage.license-file, or null
   * @param stagingDatabase the staging file's database
   * @param homeJdbcUrl {@code jdbc.url} of the staging home's bitbucket.properties when readable here, or null
   * @param credentialsKeys what to fix when the instance refuses the credentials
   */
  public record Expected(
      URI baseUrl, String mailSink, String license, DatabaseAddress stagingDatabase, String homeJdbcUrl,
      String credentialsKeys) {}

  /** The checks, in order, and whether none failed. */
  public record Verification(String baseUrl, List<Check> checks, boolean ok) {
    /** The ids of the failed checks. */
    public List<String> failed() {
      return checks.stream().filter(c -> c.outcome() == Outcome.FAIL).map(Check::id).toList();
    }

    public String text() {
      StringBuilder b = new StringBuilder("stage verify ").append(baseUrl).append('\n');
      for (Check c : checks) {
        b.append(String.format("  %-7s %-16s %s", c.outcome(), c.id(), c.seen()));
        if (c.outcome() != Outcome.PASS && c.expected() != null) {
          b.append(" (expected ").append(c.expected()).append(')');
        }
        b.append('\n');
      }
      b.append(ok ? "every check passed" : "FAILED: " + String.join(", ", failed())).append('\n');
      return b.toString();
    }
  }

  private final Http http;
  private final Expected expected;

  public StageVerifier(Http http, Expected expected) {
    this.http = http;
    this.expected = expected;
  }

  public Verification verify() {
    List<Check> checks = new ArrayList<>();
    checks.add(version());
    checks.add(baseUrl());
    checks.add(mailServer());
    checks.add(license());
    checks.add(mirrors());
    checks.add(database());
    boolean ok = checks.stream().noneMatch(c -> c.outcome() == Outcome.FAIL);
    return new Verification(base(), checks, ok);
  }

  private String base() {
    String b = expected.baseUrl().toString();
    return b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
  }

  /** {@code GET /rest/api/1.0/application-properties}, anonymous: the instance answers as Bitbucket (DIY, OAS). */
  private Check version() {
    Answer a = http.get("/rest/api/1.0/application-properties", false);
    JsonNode n = a.json();
    if (a.status() == 200 && n != null && n.hasNonNull("version")) {
      return new Check("instance", Outcome.PASS, "Bitbucket " + n.get("version").asText() + " answers at " + base(), null);
    }
    return new Check("instance", Outcome.FAIL, "HTTP " + a.status() + " from /rest/api/1.0/application-properties",
        "Bitbucket's application properties at instance.base-url");
  }

  /**
   * The configured base URL. No documented resource returns it (application-properties does not, and the OAS has
   * no base-URL resource), so it is read where Bitbucket writes it: the {@code links.self} of a project (OAS
   * {@code RestProject.links}), built from the configured base URL as clone links are.
   */
  private Check baseUrl() {
    Answer a = http.get("/rest/api/1.0/projects?limit=1", true);
    if (a.status() != 200) {
      return refused("base-url", a, "a project's self link under " + base());
    }
    JsonNode values = a.json() == null ? null : a.json().get("values");
    if (values == null || !values.isArray() || values.isEmpty()) {
      return new Check("base-url", Outcome.UNKNOWN, "no project to read a link from", "a link under " + base());
    }
    JsonNode href = values.get(0).path("links").path("self").path(0).path("href");
    if (!href.isTextual()) {
      return new Check("base-url", Outcome.UNKNOWN, "the project has no self link", "a link under " + base());
    }
    String link = href.asText();
    boolean under = sameOrigin(link, base());
    return new Check("base-url", under ? Outcome.PASS : Outcome.FAIL, "links under " + originOf(link),
        base() + " (instance.base-url)");
  }

  /**
   * {@code GET /rest/api/1.0/admin/mail-server} (OAS {@code getMailConfig}): 200 with {@code RestMailConfiguration},
   * 404 when none is configured (documented); 204 is taken as none too. A configured server passes only when it is
   * stage.mail-sink.
   */
  private Check mailServer() {
    Answer a = http.get("/rest/api/1.0/admin/mail-server", true);
    if (a.status() == 404 || a.status() == 204) {
      return new Check("mail-server", Outcome.PASS, "no mail server configured (HTTP " + a.status() + ")", null);
    }
    if (a.status() != 200) {
      return refused("mail-server", a, "none, or stage.mail-sink");
    }
    JsonNode n = a.json();
    String host = n == null ? "" : n.path("hostname").asText("");
    if (host.isBlank()) {
      return new Check("mail-server", Outcome.PASS, "no mail host configured", null);
    }
    String port = n.hasNonNull("port") ? n.get("port").asText() : "25";
    String seen = "mail server " + host + ":" + port;
    String sink = expected.mailSink() == null ? "" : expected.mailSink();
    if (sink.isEmpty()) {
      return new Check("mail-server", Outcome.FAIL, seen,
          "none (DELETE /rest/api/latest/admin/mail-server), or set stage.mail-sink to it");
    }
    int colon = sink.lastIndexOf(':');
    boolean same = host.equalsIgnoreCase(sink.substring(0, colon)) && port.equals(sink.substring(colon + 1));
    return new Check("mail-server", same ? Outcome.PASS : Outcome.FAIL, seen, sink + " (stage.mail-sink)");
  }

  /**
   * {@code GET /rest/api/1.0/admin/license} (OAS {@code get_2}): 200 with {@code RestBitbucketLicense}, whose {@code
   * license} is the encoded text; 404 when none is installed. With stage.license-file, that text must be installed.
   */
  private Check license() {
    Answer a = http.get("/rest/api/1.0/admin/license", true);
    boolean wanted = expected.license() != null && !expected.license().isBlank();
    if (a.status() == 404) {
      return new Check("license", wanted ? Outcome.FAIL : Outcome.UNKNOWN, "no licence installed (HTTP 404)",
          wanted ? "the licence of stage.license-file" : "a licence");
    }
    if (a.status() != 200) {
      return refused("license", a, "the licence of stage.license-file");
    }
    JsonNode n = a.json();
    String serverId = n == null ? null : n.path("serverId").asText(null);
    String seen = "licence installed" + (serverId == null ? "" : " for server id " + serverId);
    if (!wanted) {
      return new Check("license", Outcome.PASS, seen, null);
    }
    JsonNode text = n == null ? null : n.get("license");
    if (text == null || !text.isTextual()) {
      return new Check("license", Outcome.UNKNOWN, seen + "; its text was not answered", "stage.license-file's");
    }
    boolean same = normal(text.asText()).equals(normal(expected.license()));
    // Never the licence text itself: it is a secret of the organisation.
    return new Check("license", same ? Outcome.PASS : Outcome.FAIL,
        seen + (same ? ", the one in stage.license-file" : ", not the one in stage.license-file"),
        "the licence of stage.license-file");
  }

  /**
   * {@code GET /rest/mirroring/latest/mirrorServers} (OAS {@code listMirrors}): a page of {@code RestMirrorServer};
   * it must be empty. A 404 means the mirroring plugin's API is not there, so no mirror is served either.
   */
  private Check mirrors() {
    Answer a = http.get("/rest/mirroring/latest/mirrorServers?limit=100", true);
    if (a.status() == 404) {
      return new Check("mirrors", Outcome.PASS, "no mirroring API (HTTP 404): the mirroring plugin is not enabled", null);
    }
    if (a.status() != 200) {
      return refused("mirrors", a, "no mirror");
    }
    JsonNode values = a.json() == null ? null : a.json().get("values");
    if (values == null || !values.isArray()) {
      return new Check("mirrors", Outcome.UNKNOWN, "an answer without values", "an empty page");
    }
    if (values.isEmpty()) {
      return new Check("mirrors", Outcome.PASS, "no mirror configured", null);
    }
    List<String> urls = new ArrayList<>();
    values.forEach(v -> urls.add(v.path("baseUrl").asText(v.path("id").asText("?"))));
    return new Check("mirrors", Outcome.FAIL, values.size() + " mirror(s): " + String.join(", ", urls),
        "none; remove them in the database with the instance stopped (never through the UI or REST)");
  }

  /**
   * No documented REST resource names the database an instance uses, so this reads the staging home's {@code
   * jdbc.url} when this machine can: the setting the instance started with.
   */
  private Check database() {
    DatabaseAddress want = expected.stagingDatabase();
    if (expected.homeJdbcUrl() == null) {
      return new Check("database", Outcome.UNKNOWN,
          "no REST resource tells the database, and the staging home's bitbucket.properties is not readable here",
          want == null ? null : want.toString());
    }
    Optional<DatabaseAddress> seen = DatabaseAddress.parse(expected.homeJdbcUrl());
    if (seen.isEmpty() || want == null) {
      return new Check("database", Outcome.UNKNOWN, "jdbc.url of the staging home cannot be read as a database address",
          want == null ? null : want.toString());
    }
    boolean same = seen.get().sameDatabaseAs(want);
    return new Check("database", same ? Outcome.PASS : Outcome.FAIL, "jdbc.url names " + seen.get(),
        want + " (the staging file's database)");
  }

  private Check refused(String id, Answer a, String expectedWhat) {
    String why = a.status() == 401 || a.status() == 403
        ? "HTTP " + a.status() + ": the instance refused " + expected.credentialsKeys() + " of the staging file"
        : "HTTP " + a.status();
    return new Check(id, Outcome.FAIL, why, expectedWhat);
  }

  private static String normal(String s) {
    return s.replaceAll("\\s+", "");
  }

  static boolean sameOrigin(String link, String base) {
    String l = link.toLowerCase(Locale.ROOT);
    String b = normalise(base).toLowerCase(Locale.ROOT);
    String nl = normalise(link).toLowerCase(Locale.ROOT);
    return nl.equals(b) || nl.startsWith(b + "/") || l.startsWith(b + "/");
  }

  /** Scheme and host without case, the default port dropped: as browsers compare. */
  private static String normalise(String url) {
    try {
      URI u = URI.create(url);
      int port = u.getPort();
      boolean dflt = port == -1 || (port == 80 && "http".equalsIgnoreCase(u.getScheme()))
          || (port == 443 && "https".equalsIgnoreCase(u.getScheme()));
      String path = u.getRawPath() == null ? "" : u.getRawPath();
      if (path.endsWith("/")) {
        path = path.substring(0, path.length() - 1);
      }
      return u.getScheme() + "://" + u.getHost() + (dflt ? "" : ":" + port) + path;
    } catch (IllegalArgumentException e) {
      return url;
    }
  }

  private static String originOf(String link) {
    try {
      URI u = URI.create(link);
      String path = u.getRawPath() == null ? "" : u.getRawPath();
      int projects = path.indexOf("/projects/");
      return u.getScheme() + "://" + u.getRawAuthority() + (projects > 0 ? path.substring(0, projects) : "");
    } catch (IllegalArgumentException e) {
      return link;
    }
  }
}
