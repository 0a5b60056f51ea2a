package dev.snapstash.strategy.database.postgresql;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.testing.Dumps;
import dev.snapstash.testing.PostgresFixture;
import dev.snapstash.testing.TestDatabase;
import dev.snapstash.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The emptying step of a forced restore on PostgreSQL is all or nothing: for random schemas (tables with identity,
 * serial and plain keys, foreign keys, views over views, materialized views, standalone and column-owned
 * sequences, enums, functions, aggregates, other schemas), created statement by statement or by {@code pg_restore}
 * (which orders objects differently), the database afterwards is empty, or, when something in it cannot be
 * dropped by the restoring user, exactly as it was (its dump unchanged).
 */
class PostgresEmptyingIT {
  private static final PostgresFixture PG = new PostgresFixture();
  private static final ProcessRunner RUNNER = new ProcessRunner();

  @BeforeContainer
  static void start() {
    PG.beforeAll(null);
  }

  @AfterContainer
  static void stop() {
    PG.afterAll(null);
  }

  /** One random schema: its statements in creation order, and whether one object is beyond the user's reach. */
  record Schema(List<String> statements, boolean foreignOwned, boolean viaPgRestore) {}

  @Property(tries = 25)
  void afterEmptyingTheDatabaseIsEmptyOrUnchanged(@ForAll("schemas") Schema schema) throws Exception {
    TestDatabase db = PG.newDatabase();
    if (schema.viaPgRestore()) {
      TestDatabase source = PG.newDatabase();
      create(source, schema.statements());
      copyByPgRestore(source, db);
    } else {
      create(db, schema.statements());
    }
    if (schema.foreignOwned()) {
      // A schema of the server's superuser: the database's owner may not drop it, so the emptying must fail whole.
      try (Connection su = PG.superuserConnection(db.database()); Statement st = su.createStatement()) {
        st.execute("CREATE SCHEMA not_yours");
        st.execute("CREATE TABLE not_yours.t (id INT)");
        st.execute("GRANT USAGE ON SCHEMA not_yours TO " + db.user());
        st.execute("GRANT SELECT ON not_yours.t TO " + db.user());
      }
    }
    String before = Dumps.of(db);

    boolean emptied;
    try (Connection c = db.connect()) {
      PostgresTarget.empty(c);
      emptied = true;
    } catch (SQLException e) {
      emptied = false;
    }

    assertThat(emptied).as("emptied").isEqualTo(!schema.foreignOwned());
    if (emptied) {
      try (Connection c = db.connect()) {
        assertThat(PostgresTarget.contents(c).total()).as("objects left").isZero();
        assertThat(userTypes(c)).as("types left").isEmpty();
      }
    } else {
      assertThat(Dumps.of(db)).isEqualTo(before);
    }
  }

  @Provide
  Arbitrary<Schema> schemas() {
    Arbitrary<Integer> tables = Arbitraries.integers().between(1, 5);
    Arbitrary<List<Integer>> keyKinds = Arbitraries.integers().between(0, 2).list().ofSize(5);
    Arbitrary<List<Boolean>> foreignKeys = Arbitraries.of(true, false).list().ofSize(5);
    Arbitrary<Integer> extras = Arbitraries.integers().between(0, 255);
    return Combinators.combine(tables, keyKinds, foreignKeys, extras, Arbitraries.of(true, false), Arbitraries.of(true, false))
        .as((n, keys, fks, bits, foreign, restore) -> new Schema(statements(n, keys, fks, bits), foreign, restore));
  }

  private static List<String> statements(int n, List<Integer> keys, List<Boolean> fks, int bits) {
    List<String> s = new ArrayList<>();
    boolean enumType = (bits & 1) != 0;
    if (enumType) {
      s.add("CREATE TYPE mood AS ENUM ('ok', 'sad')");
    }
    for (int i = 0; i < n; i++) {
      String key = switch (keys.get(i)) {
        case 0 -> "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";
        case 1 -> "id SERIAL PRIMARY KEY";
        default -> "id BIGINT PRIMARY KEY";
      };
      String fk = i > 0 && fks.get(i) ? ", parent BIGINT REFERENCES t" + (i - 1) + " (id)" : "";
      s.add("CREATE TABLE t" + i + " (" + key + fk + ", note TEXT" + (enumType ? ", m mood" : "") + ")");
      String id = keys.get(i) == 2 ? "id, " : "";
      for (int r = 1; r <= 3; r++) {
        String parent = fk.isEmpty() ? "" : ", parent";
        String parentValue = fk.isEmpty() ? "" : ", NULL";
        s.add("INSERT INTO t" + i + " (" + id + "note" + parent + ") VALUES (" + (id.isEmpty() ? "" : r + ", ") + "'row " + r + "'" + parentValue + ")");
      }
    }
    if ((bits & 2) != 0) {
      s.add("CREATE VIEW v0 AS SELECT id, note FROM t0");
      s.add("CREATE VIEW v1 AS SELECT id FROM v0 WHERE id > 1");
    }
    if ((bits & 4) != 0) {
      s.add("CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM t0");
    }
    if ((bits & 8) != 0) {
      s.add("CREATE SEQUENCE standalone_seq");
      s.add("CREATE SEQUENCE owned_seq OWNED BY t0.id");
    }
    if ((bits & 16) != 0) {
      s.add("CREATE FUNCTION twice(x BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS 'SELECT x * 2'");
      s.add("CREATE AGGREGATE total(BIGINT) (SFUNC = int8pl, STYPE = BIGINT)");
    }
    if ((bits & 32) != 0) {
      s.add("CREATE SCHEMA extra");
      s.add("CREATE TABLE extra.x (id BIGINT GENERATED BY DEFAULT AS IDENTITY, t0 BIGINT REFERENCES public.t0 (id))");
    }
    if ((bits & 64) != 0) {
      s.add("CREATE DOMAIN positive AS INT CHECK (VALUE > 0)");
      s.add("CREATE TABLE uses_domain (p positive)");
    }
    if ((bits & 128) != 0) {
      s.add("CREATE TYPE pair AS (a INT, b INT)");
      s.add("CREATE TABLE partitioned (id INT, k INT) PARTITION BY RANGE (k)");
      s.add("CREATE TABLE partitioned_low PARTITION OF partitioned FOR VALUES FROM (0) TO (10)");
    }
    return s;
  }

  private static void create(TestDatabase db, List<String> statements) throws SQLException {
    try (Connection c = db.connect(); Statement st = c.createStatement()) {
      for (String sql : statements) {
        st.execute(sql);
      }
    }
  }

  /** The way a restore builds a database: pg_dump -Fd, then pg_restore, whose order is by dependency, not history. */
  private static void copyByPgRestore(TestDatabase from, TestDatabase to) throws Exception {
    Path dir = Files.createTempDirectory("pg-emptying");
    try {
      Path pass = dir.resolve("pgpass");
      Files.writeString(pass, PostgresCommands.pgpassLine(from.user(), from.password()) + PostgresCommands.pgpassLine(to.user(), to.password()));
      Files.setPosixFilePermissions(pass, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      RUNNER.run(connection(Command.of(Tools.require("pg_dump").toString(), "-Fd", "-f", dir.resolve("dump").toString()), from, pass));
      RUNNER.run(connection(Command.of(Tools.require("pg_restore").toString(), "--no-owner", "--exit-on-error", dir.resolve("dump").toString()), to, pass));
    } finally {
      dev.snapstash.core.util.Trees.deleteRecursively(dir);
    }
  }

  private static Command connection(Command c, TestDatabase db, Path pass) {
    List<String> argv = new ArrayList<>(c.argv());
    argv.addAll(1, List.of("--no-password", "-h", db.host(), "-p", Integer.toString(db.port()), "-U", db.user(), "-d", db.database()));
    return Command.of(argv).withEnv("PGPASSFILE", pass.toString()).withEnv("PGPASSWORD", "");
  }

  private static List<String> userTypes(Connection c) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
                + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
