package dev.snapstash.sandbox;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.Comparator;

/**
 * A throwaway PostgreSQL or MariaDB server on loopback for tests, until core's {@code localdb} servers land on
 * main. Creates database {@code bitbucket} owned by user {@code bitbucket} with a password in a file.
 */
final class TestDatabaseServer implements AutoCloseable {
  private static final String PG_BIN = "/usr/lib/postgresql/15/bin";
  private final ProcessRunner runner = new ProcessRunner();
  private final DbKind kind;
  private final Path dir;
  final int port;
  final Path passwordFile;
  private long mariaPid;

  static boolean available(DbKind kind) {
    return switch (kind) {
      case H2 -> true;
      case POSTGRESQL -> Files.isExecutable(Path.of(PG_BIN, "initdb")) && Tools.onPath("runuser");
      case MARIADB -> Tools.onPath("mariadb-install-db") && Files.isExecutable(Path.of("/usr/sbin/mariadbd"));
    };
  }

  TestDatabaseServer(DbKind kind, Path dir) throws Exception {
    this.kind = kind;
    // postgres runs as its own user and cannot enter JUnit's private temp directory.
    this.dir = kind == DbKind.POSTGRESQL ? Files.createTempDirectory("snapstash-test-pg-") : dir;
    this.port = freePort();
    Files.createDirectories(this.dir);
    this.passwordFile = this.dir.resolve("bitbucket-password");
    Files.writeString(passwordFile, "sandbox-db-pw\n");
    if (kind == DbKind.POSTGRESQL) {
      startPostgres();
    } else {
      startMariaDb();
    }
  }

  String jdbcUrl() {
    return kind == DbKind.POSTGRESQL
        ? "jdbc:postgresql://127.0.0.1:" + port + "/bitbucket"
        : "jdbc:mariadb://127.0.0.1:" + port + "/bitbucket";
  }

  private void startPostgres() throws Exception {
    Path data = dir.resolve("pgdata");
    Files.createDirectories(data);
    UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
    var pg = users.lookupPrincipalByName("postgres");
    Files.setOwner(dir, pg);
    Files.setOwner(data, pg);
    Path pw = dir.resolve("postgres-pw");
    Files.writeString(pw, "postgres-pw\n");
    Files.setOwner(pw, pg);
    runner.run(Command.of("runuser", "-u", "postgres", "--", PG_BIN + "/initdb", "-D", data.toString(), "-U",
        "postgres", "--pwfile=" + pw, "--auth-local=trust", "--auth-host=scram-sha-256")
        .withTimeout(Duration.ofMinutes(2)));
    runner.run(Command.of("runuser", "-u", "postgres", "--", PG_BIN + "/pg_ctl", "-D", data.toString(), "-w",
        "-l", dir.resolve("pg.log").toString(), "-o",
        "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        .withTimeout(Duration.ofMinutes(1)));
    psql("CREATE USER bitbucket PASSWORD 'sandbox-db-pw'");
    psql("CREATE DATABASE bitbucket OWNER bitbucket");
  }

  private void psql(String sql) {
    runner.run(Command.of("runuser", "-u", "postgres", "--", PG_BIN + "/psql", "-h", dir.toString(), "-p",
        Integer.toString(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql)
        .withTimeout(Duration.ofMinutes(1)));
  }

  private void startMariaDb() throws Exception {
    Path data = dir.resolve("mariadb");
    runner.run(Command.of("mariadb-install-db", "--no-defaults", "--datadir=" + data, "--user=root",
        "--auth-root-authentication-method=socket", "--skip-test-db").withTimeout(Duration.ofMinutes(2)));
    Path socket = dir.resolve("mysqld.sock");
    mariaPid = runner.spawnDetached(Command.of("/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + data,
        "--port=" + port, "--bind-address=127.0.0.1", "--socket=" + socket, "--user=root",
        "--pid-file=" + dir.resolve("mariadb.pid"), "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0"),
        dir.resolve("mariadb.log"));
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (runner.runAllowingFailure(Command.of("mariadb-admin", "--no-defaults", "--socket=" + socket, "-u",
        "root", "ping").discardingStdout(), l -> {}).exitCode() != 0) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("mariadbd did not start: see " + dir.resolve("mariadb.log"));
      }
      Thread.sleep(200);
    }
    runner.run(Command.of("mariadb", "--no-defaults", "--socket=" + socket, "-u", "root", "-e",
        "CREATE DATABASE bitbucket CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
            + " CREATE USER 'bitbucket'@'%' IDENTIFIED BY 'sandbox-db-pw';"
            + " GRANT ALL PRIVILEGES ON bitbucket.* TO 'bitbucket'@'%';"));
  }

  @Override
  public void close() throws Exception {
    try {
      if (kind == DbKind.POSTGRESQL) {
        runner.runAllowingFailure(Command.of("runuser", "-u", "postgres", "--", PG_BIN + "/pg_ctl", "-D",
            dir.resolve("pgdata").toString(), "-m", "immediate", "-w", "stop").withTimeout(Duration.ofMinutes(1)),
            l -> {});
      } else if (mariaPid > 0) {
        ProcessHandle.of(mariaPid).ifPresent(h -> {
          h.destroy();
          try {
            h.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
          } catch (Exception e) {
            h.destroyForcibly();
          }
        });
      }
    } finally {
      try (var walk = Files.walk(dir)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        // the temp dir is removed by JUnit as well
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
