package dev.snapstash.sandbox.http;

import dev.snapstash.sandbox.SandboxKnobs;
import dev.snapstash.sandbox.db.SandboxDatabase;
import dev.snapstash.sandbox.maintenance.Maintenance;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.Fields;

/**
 * Bitbucket's REST subset under {@code /rest/api/1.0} (or {@code latest}) and {@code /rest/mirroring/latest}, the
 * unauthenticated {@code /status}, and the pages outside the API.
 *
 * <p>Adding a resource is one method and one row of {@link #routes}: a {@code private void getX(Call c)} that reads
 * {@code c.group(n)}, {@code c.start()}/{@code c.limit()} or {@code c.x().readJson()} and answers once through
 * {@code c.x().json(...)} or {@code c.x().error(...)}, and {@code Route.get("/admin/x", Caller.SYSADMIN,
 * this::getX)} (or {@code Route.of("PUT", ...)}). The caller is checked before the method runs. A request no row
 * serves is answered 405 before credentials are asked for unless it is a {@code GET}, which is 404 after them.
 * Resources of the mirroring plugin's API are routed as {@code mirroring:/path}.
 *
 * <p>Links are built from the base URL the instance is configured with ({@code app_property instance.url}, read at
 * each request, as the staging rules and the administration page change it), as Bitbucket builds clone and self
 * links; the URL the sandbox listens on only when none is configured.
 */
final class RestRoutes {
  static final String VERSION = "8.19.1";
  static final String BUILD_NUMBER = "8019001";
  static final String BUILD_DATE = "1718150400000";
  static final String NODE_ID = "5a4d6c1e-8b1f-4c3a-9e2d-0b5a5d1e5a11";

  private static final Pattern REST = Pattern.compile("^/rest/(?:api/(?:1\\.0|latest)|(mirroring)/latest)(/.*)$");

  /** Who may call a resource; a refused caller is answered by {@link Access}, in Bitbucket's words. */
  enum Caller {
    ANYONE,
    /** Any user, by password or access token. */
    USER,
    /** A SYSADMIN user by password: never a token. */
    SYSADMIN
  }

  /**
   * One resource's request, once its caller was let in.
   *
   * @param path the resource path matched against the route, for its groups
   * @param user null for {@link Caller#ANYONE}
   */
  record Call(Exchange x, Matcher path, SandboxDatabase.User user) {
    String group(int n) {
      return path.group(n);
    }

    /** {@code ?start=}, as Bitbucket's paged resources read it. */
    int start() {
      return intParam(x.query(), "start", 0, 0, Integer.MAX_VALUE);
    }

    /** {@code ?limit=}: 25 unless asked, at most 1000. */
    int limit() {
      return intParam(x.query(), "limit", 25, 1, 1000);
    }
  }

  /** What answers a resource; it writes exactly one answer through {@link Call#x()}. */
  @FunctionalInterface
  interface Resource {
    void serve(Call call) throws Exception;
  }

  /**
   * A method and a path routed to a resource.
   *
   * @param path a regular expression matched against the whole path after {@code /rest/api/1.0}; the resource
   *     reads its groups
   */
  record Route(String method, Pattern path, Caller caller, Resource resource) {
    static Route of(String method, String path, Caller caller, Resource resource) {
      return new Route(method, Pattern.compile(path), caller, resource);
    }

    static Route get(String path, Caller caller, Resource resource) {
      return of("GET", path, caller, resource);
    }
  }

  private final SandboxDatabase db;
  private final Maintenance maintenance;
  private final SandboxKnobs knobs;
  private final Access access;
  private final String baseUrl;

  /**
   * The first row whose method and path match serves. The project and repository paths were split at slashes
   * before they were routes, so trailing slashes still reach them; each list comes before the item that would also
   * match it with an empty key.
   */
  private final List<Route> routes = List.of(
      Route.get("/application-properties", Caller.ANYONE, this::getApplicationProperties),
      Route.get("/admin/cluster", Caller.SYSADMIN, this::getCluster),
      Route.get("/admin/mail-server", Caller.SYSADMIN, this::getMailServer),
      Route.get("/admin/license", Caller.SYSADMIN, this::getLicense),
      Route.get("mirroring:/mirrorServers", Caller.SYSADMIN, this::getMirrorServers),
      Route.get("/projects/*", Caller.USER, this::getProjects),
      Route.get("/projects/([^/]*)/*", Caller.USER, this::getProject),
      Route.get("/projects/([^/]*)/repos/*", Caller.USER, this::getRepositories),
      Route.get("/projects/([^/]*)/repos/([^/]*)/*", Caller.USER, this::getRepository));

  RestRoutes(SandboxDatabase db, Maintenance maintenance, SandboxKnobs knobs, Access access, String baseUrl) {
    this.db = db;
    this.maintenance = maintenance;
    this.knobs = knobs;
    this.access = access;
    this.baseUrl = baseUrl;
  }

  /** The unauthenticated health resource load balancers poll: {@code {"state":"RUNNING"|"MAINTENANCE"}}. */
  void status(Exchange x) {
    boolean locked = maintenance.isLocked();
    x.json(locked ? knobs.statusCodeInMaintenance() : 200, Exchange.map("state", locked ? "MAINTENANCE" : "RUNNING"));
  }

  /** Everything outside {@code /scm/}, {@code /mvc/} and {@code /status}, served only while unlocked. */
  void serve(Exchange x) throws Exception {
    Matcher rest = REST.matcher(x.path());
    if (!rest.matches()) {
      page(x);
      return;
    }
    String resource = rest.group(1) == null ? rest.group(2) : rest.group(1) + ":" + rest.group(2);
    Route route = null;
    Matcher params = null;
    for (Route r : routes) {
      Matcher m = r.path().matcher(resource);
      if (r.method().equals(x.method()) && m.matches()) {
        route = r;
        params = m;
        break;
      }
    }
    if (route == null && !x.method().equals("GET")) {
      x.error(405, "Method " + x.method() + " is not supported here.",
          "com.atlassian.bitbucket.rest.MethodNotAllowedException");
      return;
    }
    if (route != null && route.caller() == Caller.ANYONE) {
      route.resource().serve(new Call(x, params, null));
      return;
    }
    if (route != null && route.caller() == Caller.SYSADMIN) {
      Optional<SandboxDatabase.User> admin = access.sysadmin(x);
      if (admin.isPresent()) {
        route.resource().serve(new Call(x, params, admin.get()));
      }
      return;
    }
    // A path no row serves asks for credentials before it is not found: a stranger learns nothing of what exists.
    Optional<SandboxDatabase.User> user = access.user(x);
    if (user.isEmpty()) {
      return;
    }
    // Read before any user resource, as it always was: a malformed query fails the same way for all of them.
    x.query();
    if (route == null) {
      x.error(404, "Not found: " + x.path(), "com.atlassian.bitbucket.NoSuchResourceException");
    } else {
      route.resource().serve(new Call(x, params, user.get()));
    }
  }

  private void page(Exchange x) {
    if (x.path().equals("/") && x.method().equals("GET")) {
      x.response().getHeaders().put(HttpHeader.CONTENT_TYPE, "text/html;charset=UTF-8");
      Content.Sink.write(x.response(), true,
          "<!DOCTYPE html><html><head><title>Bitbucket</title></head><body><h1>Bitbucket (snapstash"
              + " sandbox)</h1><p>Version " + VERSION + "</p></body></html>\n", x.callback());
      return;
    }
    x.error(404, "Not found: " + x.path(), "com.atlassian.bitbucket.NoSuchResourceException");
  }

  // --------------------------------------------------------------------------------------------------- resources

  private void getApplicationProperties(Call c) {
    c.x().json(200, Exchange.map(
        "version", VERSION, "buildNumber", BUILD_NUMBER, "buildDate", BUILD_DATE, "displayName", "Bitbucket"));
  }

  /** The OAS shape of {@code RestClusterInformation}: one node, this one. */
  private void getCluster(Call c) {
    String host = URI.create(baseUrl).getHost();
    Map<String, Object> node = new LinkedHashMap<>();
    node.put("address", Exchange.map("address", host, "port", 5701));
    node.put("buildVersion", VERSION);
    node.put("id", NODE_ID);
    node.put("local", true);
    node.put("name", "sandbox-node-1");
    c.x().json(200, Exchange.map("localNode", node, "nodes", List.of(node), "running", true));
  }

  /**
   * {@code RestMailConfiguration} from the sandbox's own layout ({@code app_property mail.server.*}; Bitbucket's is
   * not public); 404 "not configured" without a host, as the OAS documents. The password is never answered.
   */
  private void getMailServer(Call c) {
    Map<String, String> m = db.appProperties("mail.server.");
    String host = m.get("mail.server.host");
    if (host == null || host.isBlank()) {
      c.x().error(404, "No mail server has been configured.", "com.atlassian.bitbucket.mail.NoMailHostConfigurationException");
      return;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("hostname", host);
    String port = m.get("mail.server.port");
    out.put("port", port == null ? 25 : Integer.parseInt(port.strip()));
    out.put("protocol", m.getOrDefault("mail.server.protocol", "SMTP"));
    out.put("useStartTls", Boolean.parseBoolean(m.get("mail.server.use-start-tls")));
    out.put("requireStartTls", Boolean.parseBoolean(m.get("mail.server.require-start-tls")));
    if (m.get("mail.server.username") != null) {
      out.put("username", m.get("mail.server.username"));
    }
    if (m.get("mail.server.sender") != null) {
      out.put("senderAddress", m.get("mail.server.sender"));
    }
    c.x().json(200, out);
  }

  /** {@code RestBitbucketLicense} for {@code app_property license}; 404 when none is installed (OAS). */
  private void getLicense(Call c) {
    Optional<String> license = db.appProperty("license");
    if (license.isEmpty() || license.get().isBlank()) {
      c.x().error(404, "No license has been installed.", "com.atlassian.bitbucket.license.NoSuchLicenseException");
      return;
    }
    String serverId = db.appProperty("server.id").orElse(null);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("license", license.get().strip());
    out.put("serverId", serverId);
    out.put("unlimitedNumberOfUsers", true);
    out.put("status", Exchange.map("serverId", serverId, "currentNumberOfUsers", db.users().size()));
    c.x().json(200, out);
  }

  /**
   * The mirroring plugin's {@code listMirrors} page of {@code RestMirrorServer}, from the sandbox's mirror farm rows
   * ({@code plugin_setting acnct.bitbucket.mirror.farm.<n>.url}): what the staging rules remove.
   */
  private void getMirrorServers(Call c) {
    List<Map<String, Object>> mirrors = new ArrayList<>();
    Pattern farm = Pattern.compile("acnct\\.bitbucket\\.mirror\\.farm\\.([^.]+)\\.url");
    db.pluginSettings("acnct.bitbucket.mirror.").forEach((k, v) -> {
      Matcher m = farm.matcher(k);
      if (m.matches()) {
        Map<String, Object> mirror = new LinkedHashMap<>();
        mirror.put("baseUrl", v);
        mirror.put("enabled", true);
        mirror.put("id", "MIRROR-FARM-" + m.group(1));
        mirror.put("mirrorType", "FARM");
        mirror.put("name", "mirror farm " + m.group(1));
        mirror.put("productVersion", VERSION);
        mirrors.add(mirror);
      }
    });
    int from = Math.min(c.start(), mirrors.size());
    int to = Math.min(from + c.limit(), mirrors.size());
    c.x().json(200, paged(new SandboxDatabase.Page<Object>(new ArrayList<>(mirrors.subList(from, to)), from, c.limit(),
        to >= mirrors.size()), v -> v));
  }

  private void getProjects(Call c) {
    String base = linkBase();
    c.x().json(200, paged(db.projects(c.start(), c.limit()), p -> project(p, base)));
  }

  private void getProject(Call c) {
    Optional<SandboxDatabase.Project> p = db.project(c.group(1));
    if (p.isPresent()) {
      c.x().json(200, project(p.get(), linkBase()));
    } else {
      noSuchProject(c.x(), c.group(1));
    }
  }

  private void getRepositories(Call c) {
    Optional<SandboxDatabase.Project> p = db.project(c.group(1));
    if (p.isEmpty()) {
      noSuchProject(c.x(), c.group(1));
      return;
    }
    String base = linkBase();
    c.x().json(200, paged(db.repositories(p.get().key(), c.start(), c.limit()), r -> repository(r, p.get(), base)));
  }

  private void getRepository(Call c) {
    Optional<SandboxDatabase.Repository> r = db.repository(c.group(1), c.group(2));
    Optional<SandboxDatabase.Project> p = db.project(c.group(1));
    if (r.isPresent() && p.isPresent()) {
      c.x().json(200, repository(r.get(), p.get(), linkBase()));
    } else {
      c.x().error(404, "Repository " + c.group(1) + "/" + c.group(2) + " does not exist.",
          "com.atlassian.bitbucket.repository.NoSuchRepositoryException");
    }
  }

  // ----------------------------------------------------------------------------------------------------- shapes

  private static void noSuchProject(Exchange x, String key) {
    x.error(404, "Project " + key + " does not exist.", "com.atlassian.bitbucket.project.NoSuchProjectException");
  }

  private static int intParam(Fields q, String name, int dflt, int min, int max) {
    String v = q.getValue(name);
    if (v == null) {
      return dflt;
    }
    try {
      return Math.max(min, Math.min(max, Integer.parseInt(v)));
    } catch (NumberFormatException e) {
      return dflt;
    }
  }

  private static <T> Map<String, Object> paged(SandboxDatabase.Page<T> page, Function<T, Object> render) {
    List<Object> values = new ArrayList<>();
    page.values().forEach(v -> values.add(render.apply(v)));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("size", values.size());
    m.put("limit", page.limit());
    m.put("isLastPage", page.isLastPage());
    m.put("values", values);
    m.put("start", page.start());
    if (!page.isLastPage()) {
      m.put("nextPageStart", page.start() + values.size());
    }
    return m;
  }

  /** The configured base URL ({@code instance.url}), or the one the sandbox listens on when none is. */
  private String linkBase() {
    return db.appProperty("instance.url").filter(u -> !u.isBlank()).map(u -> u.endsWith("/") ? u.substring(0, u.length() - 1) : u)
        .orElse(baseUrl);
  }

  private static Map<String, Object> project(SandboxDatabase.Project p, String baseUrl) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("key", p.key());
    m.put("id", p.id());
    m.put("name", p.name());
    m.put("public", false);
    m.put("type", "NORMAL");
    m.put("links", Exchange.map("self", List.of(Exchange.map("href", baseUrl + "/projects/" + p.key()))));
    return m;
  }

  private static Map<String, Object> repository(SandboxDatabase.Repository r, SandboxDatabase.Project p, String baseUrl) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("slug", r.slug());
    m.put("id", r.id());
    m.put("name", r.name());
    m.put("hierarchyId", Long.toHexString(0x5a5a0000L + r.id()));
    m.put("scmId", "git");
    m.put("state", "AVAILABLE");
    m.put("statusMessage", "Available");
    m.put("forkable", true);
    m.put("project", project(p, baseUrl));
    m.put("public", false);
    String clone = baseUrl + "/scm/" + p.key().toLowerCase(Locale.ROOT) + "/" + r.slug() + ".git";
    m.put("links", Exchange.map(
        "clone", List.of(Exchange.map("href", clone, "name", "http")),
        "self", List.of(Exchange.map("href", baseUrl + "/projects/" + p.key() + "/repos/" + r.slug() + "/browse"))));
    return m;
  }
}
