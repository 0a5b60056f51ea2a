package dev.snapstash.strategy.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tool discovery against fake client programs in temporary directories: small shell scripts that print a version. */
public class ClientToolsTest {
  private static final String INSTALL = "install postgresql-client or set database.postgresql.bin-dir";
  private final ProcessRunner runner = new ProcessRunner();
  @TempDir Path tmp;

  /** An executable script called {@code name} in {@code dir} that prints {@code version} and counts its runs. */
  public static Path fake(Path dir, String name, String version) throws IOException {
    Files.createDirectories(dir);
    Path p = dir.resolve(name);
    Path runs = dir.resolve(name + ".runs");
    Files.writeString(p, "#!/bin/sh\necho run >> '" + runs + "'\necho '" + version + "'\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }

  public static long runs(Path program) throws IOException {
    Path runs = program.resolveSibling(program.getFileName() + ".runs");
    return Files.exists(runs) ? Files.readAllLines(runs).size() : 0;
  }

  @Test
  void aConfiguredDirectoryIsTheOnlyPlaceLookedIn() throws Exception {
    Path bin = tmp.resolve("pg16/bin");
    Path onPath = tmp.resolve("usr/bin");
    Path newer = fake(bin, "pg_dump", "pg_dump (PostgreSQL) 16.2");
    fake(onPath, "pg_dump", "pg_dump (PostgreSQL) 13.1");
    fake(onPath, "pg_restore", "pg_restore (PostgreSQL) 13.1");

    ClientTools configured = new ClientTools(runner, Optional.of(bin), List.of(onPath), INSTALL);
    assertThat(configured.find("pg_dump")).contains(newer);
    assertThat(configured.find("pg_restore")).as("not taken from PATH when bin-dir is set").isEmpty();

    ClientTools plain = new ClientTools(runner, Optional.empty(), List.of(onPath), INSTALL);
    assertThat(plain.find("pg_dump")).contains(onPath.resolve("pg_dump"));
  }

  @Test
  void eachNameIsLookedForOnTheWholePathBeforeTheNext() throws Exception {
    Path first = tmp.resolve("first");
    Path second = tmp.resolve("second");
    fake(first, "mysqldump", "mysqldump  Ver 8.0.36 for Linux on x86_64");
    Path mariadb = fake(second, "mariadb-dump", "mariadb-dump from 11.4.2-MariaDB, client 10.19");
    ClientTools tools = new ClientTools(runner, Optional.empty(), List.of(first, second), "install mariadb-client or mysql-client");
    assertThat(tools.find("mariadb-dump", "mysqldump")).contains(mariadb);
    assertThat(tools.find("mysqldump", "mariadb-dump")).contains(first.resolve("mysqldump"));
  }

  @Test
  void onlyExecutableFilesCount() throws Exception {
    Path dir = tmp.resolve("bin");
    Files.createDirectories(dir.resolve("pg_dump"));
    Files.writeString(dir.resolve("pg_restore"), "#!/bin/sh\n");
    ClientTools tools = new ClientTools(runner, Optional.empty(), List.of(dir), INSTALL);
    assertThat(tools.find("pg_dump")).isEmpty();
    assertThat(tools.find("pg_restore")).isEmpty();
  }

  @Test
  void aMissingToolIsOneSentenceSayingWhereItWasLookedForAndHowToGetIt() {
    Path bin = tmp.resolve("nothing-here");
    assertThat(new ClientTools(runner, Optional.empty(), List.of(bin), INSTALL).notInstalled("pg_dump"))
        .isEqualTo("pg_dump is not installed (not on PATH); install postgresql-client or set database.postgresql.bin-dir");
    assertThat(new ClientTools(runner, Optional.of(bin), List.of(), INSTALL).notInstalled("pg_restore"))
        .isEqualTo("pg_restore is not installed in " + bin + "; install postgresql-client or set database.postgresql.bin-dir");
    assertThat(new ClientTools(runner, Optional.empty(), List.of(), "install mariadb-client or mysql-client").notInstalled("mariadb-dump", "mysqldump"))
        .isEqualTo("mariadb-dump (or mysqldump) is not installed (not on PATH); install mariadb-client or mysql-client");
    assertThatThrownBy(() -> new ClientTools(runner, Optional.of(bin), List.of(), INSTALL).require("pg_dump"))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PRECONDITION))
        .hasMessage("pg_dump is not installed in " + bin + "; install postgresql-client or set database.postgresql.bin-dir");
  }

  /**
   * The preflight asks pg_dump its version and the backup's preparation needs it again seconds later, just before
   * the lock: the second answer comes from the first while the program file is the same, and a replaced program is
   * asked again.
   */
  @Test
  void aProgramIsAskedItsVersionOnceWhileItsFileIsTheSame() throws Exception {
    Path bin = tmp.resolve("bin");
    Path pgDump = fake(bin, "pg_dump", "pg_dump (PostgreSQL) 15.4");
    ClientTools tools = new ClientTools(runner, Optional.of(bin), List.of(), INSTALL);

    assertThat(tools.ask(pgDump)).isEqualTo(new ClientTools.Tool(pgDump, "pg_dump (PostgreSQL) 15.4"));
    assertThat(tools.ask(tools.require("pg_dump")).version()).isEqualTo("pg_dump (PostgreSQL) 15.4");
    assertThat(runs(pgDump)).isEqualTo(1);

    fake(bin, "pg_dump", "pg_dump (PostgreSQL) 16.10 (an upgrade)");
    assertThat(tools.ask(pgDump).version()).isEqualTo("pg_dump (PostgreSQL) 16.10 (an upgrade)");
    assertThat(runs(pgDump)).isEqualTo(2);
  }

  @Test
  void aProgramThatFailsToSayItsVersionIsAnExternalCommandFailure() throws Exception {
    Path bin = tmp.resolve("bin");
    Files.createDirectories(bin);
    Path broken = bin.resolve("pg_dump");
    Files.writeString(broken, "#!/bin/sh\necho 'libpq.so.5: cannot open shared object file' >&2\nexit 127\n");
    Files.setPosixFilePermissions(broken, PosixFilePermissions.fromString("rwxr-xr-x"));
    ClientTools tools = new ClientTools(runner, Optional.of(bin), List.of(), INSTALL);
    assertThatThrownBy(() -> tools.ask(broken))
        .isInstanceOfSatisfying(SnapstashException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.EXTERNAL_COMMAND));
  }

  @Test
  void theVersionCommandKeepsItsOutputAndHasADeadline() {
    Command c = ClientTools.versionCommand("/opt/pg/bin/pg_dump");
    assertThat(c.argv()).containsExactly("/opt/pg/bin/pg_dump", "--version");
    assertThat(c.stdout()).isEqualTo(Command.Output.CAPTURE);
    assertThat(c.timeout()).isNotNull();
  }
}
