package dev.snapstash.sandbox;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Everything {@code snapstash sandbox start} takes. Immutable; the withers return copies.
 *
 * @param dir the sandbox directory (holds {@code home/}, {@code sandbox.json}, secrets and snapstash.yml)
 * @param port HTTP port on 127.0.0.1; 0 picks a free one; {@code null} reuses the previous port or 7990
 * @param db the database kind, or {@code null} for the previous start's kind (H2 on a first start)
 * @param jdbcUrl an external database, or {@code null} for the embedded H2 (or a private local server)
 * @param dbUser user for an external database
 * @param dbPasswordFile file holding the external database's password
 * @param repos repositories to generate at first start
 * @param commits commits per repository
 * @param filesPerCommit files added or changed per commit
 * @param blobKb average file size in KiB
 * @param adminPasswordFile file holding the admin password, or {@code null} to generate one
 * @param proxyName public host name behind a TLS proxy, or {@code null}
 * @param startTimeout how long a detached start waits for the instance to answer
 * @param tls serve https with a self-signed certificate written into the directory (and a plain-http port that
 *     redirects to it)
 * @param contextPath serve under this path, like {@code /bitbucket}, or {@code null} for the root
 */
public record SandboxOptions(
    Path dir,
    Integer port,
    DbKind db,
    String jdbcUrl,
    String dbUser,
    Path dbPasswordFile,
    int repos,
    int commits,
    int filesPerCommit,
    int blobKb,
    Path adminPasswordFile,
    String proxyName,
    Duration startTimeout,
    boolean tls,
    String contextPath) {

  public static final int DEFAULT_PORT = 7990;

  public SandboxOptions {
    dir = Objects.requireNonNull(dir, "dir").toAbsolutePath().normalize();
    startTimeout = startTimeout == null ? Duration.ofSeconds(60) : startTimeout;
    contextPath = normalContextPath(contextPath);
  }

  /** Without TLS and context path (the options before they existed). */
  public SandboxOptions(Path dir, Integer port, DbKind db, String jdbcUrl, String dbUser, Path dbPasswordFile,
      int repos, int commits, int filesPerCommit, int blobKb, Path adminPasswordFile, String proxyName,
      Duration startTimeout) {
    this(dir, port, db, jdbcUrl, dbUser, dbPasswordFile, repos, commits, filesPerCommit, blobKb, adminPasswordFile,
        proxyName, startTimeout, false, null);
  }

  /** {@code /bitbucket} from {@code bitbucket}, {@code /bitbucket/} or {@code /bitbucket}; null for the root. */
  static String normalContextPath(String p) {
    if (p == null) {
      return null;
    }
    String t = p.strip();
    while (t.endsWith("/")) {
      t = t.substring(0, t.length() - 1);
    }
    if (t.isEmpty()) {
      return null;
    }
    if (!t.startsWith("/")) {
      t = "/" + t;
    }
    if (!t.matches("(/[A-Za-z0-9._~-]+)+")) {
      throw new dev.snapstash.core.error.SnapstashException(dev.snapstash.core.error.ErrorKind.USAGE,
          "--context-path '" + p + "' must be a path like /bitbucket (letters, digits, '.', '_', '~', '-')");
    }
    return t;
  }

  /** Small defaults so that a plain start takes a couple of seconds. */
  public static SandboxOptions defaults(Path dir) {
    return new SandboxOptions(dir, null, null, null, null, null, 3, 5, 10, 4, null, null, null);
  }

  public SandboxOptions withPort(Integer p) {
    return new SandboxOptions(dir, p, db, jdbcUrl, dbUser, dbPasswordFile, repos, commits, filesPerCommit, blobKb,
        adminPasswordFile, proxyName, startTimeout, tls, contextPath);
  }

  public SandboxOptions withDatabase(DbKind kind, String url, String user, Path passwordFile) {
    return new SandboxOptions(dir, port, kind, url, user, passwordFile, repos, commits, filesPerCommit, blobKb,
        adminPasswordFile, proxyName, startTimeout, tls, contextPath);
  }

  public SandboxOptions withContent(int r, int c, int f, int kb) {
    return new SandboxOptions(dir, port, db, jdbcUrl, dbUser, dbPasswordFile, r, c, f, kb, adminPasswordFile,
        proxyName, startTimeout, tls, contextPath);
  }

  public SandboxOptions withAdminPasswordFile(Path f) {
    return new SandboxOptions(dir, port, db, jdbcUrl, dbUser, dbPasswordFile, repos, commits, filesPerCommit, blobKb,
        f, proxyName, startTimeout, tls, contextPath);
  }

  public SandboxOptions withProxyName(String host) {
    return new SandboxOptions(dir, port, db, jdbcUrl, dbUser, dbPasswordFile, repos, commits, filesPerCommit, blobKb,
        adminPasswordFile, host, startTimeout, tls, contextPath);
  }

  public SandboxOptions withStartTimeout(Duration t) {
    return new SandboxOptions(dir, port, db, jdbcUrl, dbUser, dbPasswordFile, repos, commits, filesPerCommit, blobKb,
        adminPasswordFile, proxyName, t, tls, contextPath);
  }

  public SandboxOptions withTls(boolean on) {
    return new SandboxOptions(dir, port, db, jdbcUrl, dbUser, dbPasswordFile, repos, commits, filesPerCommit, blobKb,
        adminPasswordFile, proxyName, startTimeout, on, contextPath);
  }

  public SandboxOptions withContextPath(String path) {
    return new SandboxOptions(dir, port, db, jdbcUrl, dbUser, dbPasswordFile, repos, commits, filesPerCommit, blobKb,
        adminPasswordFile, proxyName, startTimeout, tls, path);
  }

  /** The options as {@code sandbox start} arguments, for the detached child (no secrets: only file paths). */
  public List<String> toArgs() {
    List<String> a = new ArrayList<>(List.of("--dir", dir.toString()));
    if (port != null) {
      a.addAll(List.of("--port", port.toString()));
    }
    if (db != null) {
      a.addAll(List.of("--db", db.optionValue()));
    }
    if (jdbcUrl != null) {
      a.addAll(List.of("--jdbc-url", jdbcUrl));
    }
    if (dbUser != null) {
      a.addAll(List.of("--db-user", dbUser));
    }
    if (dbPasswordFile != null) {
      a.addAll(List.of("--db-password-file", dbPasswordFile.toString()));
    }
    a.addAll(List.of("--repos", Integer.toString(repos), "--commits", Integer.toString(commits),
        "--files-per-commit", Integer.toString(filesPerCommit), "--blob-kb", Integer.toString(blobKb)));
    if (adminPasswordFile != null) {
      a.addAll(List.of("--admin-password-file", adminPasswordFile.toString()));
    }
    if (proxyName != null) {
      a.addAll(List.of("--proxy-name", proxyName));
    }
    if (tls) {
      a.add("--tls");
    }
    if (contextPath != null) {
      a.addAll(List.of("--context-path", contextPath));
    }
    return a;
  }
}
