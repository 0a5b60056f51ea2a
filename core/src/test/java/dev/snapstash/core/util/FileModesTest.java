package dev.snapstash.core.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.testing.Tools;
import dev.snapstash.testing.Umask;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileModesTest {
  @TempDir Path tmp;

  @Test
  void ownerOnlyWhateverTheUmask() throws Exception {
    for (int mask : new int[] {0, 022, 077}) {
      Path base = Files.createDirectory(tmp.resolve("umask-" + mask));
      Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
      try (Umask u = Umask.set(mask)) {
        FileModes modes = FileModes.ownerOnly();
        modes.createDirectories(base.resolve("a/b/c"));
        modes.writeString(base.resolve("a/b/c/manifest.json"), "{}");
        try (OutputStream out = modes.newOutputStream(base.resolve("a/b/c/home.sha256"))) {
          out.write('x');
        }
        try (FileChannel ch = modes.open(base.resolve("a/lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
          ch.force(false);
        }
      }
      assertThat(mode(base)).as("an existing parent is the operator's: left alone").isEqualTo("rwxr-xr-x");
      for (String dir : new String[] {"a", "a/b", "a/b/c"}) {
        assertThat(mode(base.resolve(dir))).as("%s under umask %03o", dir, mask).isEqualTo("rwx------");
      }
      for (String file : new String[] {"a/b/c/manifest.json", "a/b/c/home.sha256", "a/lock"}) {
        assertThat(mode(base.resolve(file))).as("%s under umask %03o", file, mask).isEqualTo("rw-------");
      }
    }
  }

  @Test
  void aFileLeftWithOpenModesIsTightenedWhenWrittenAgain() throws Exception {
    Path f = tmp.resolve("manifest.json.tmp");
    Files.writeString(f, "old");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw-rw-"));
    FileModes.ownerOnly().writeString(f, "new");
    assertThat(f).hasContent("new");
    assertThat(mode(f)).isEqualTo("rw-------");
  }

  /** A strict umask must not take the group's bits away: they are set, not left to the umask. */
  @Test
  void aGroupGetsReadAccessEvenUnderAStrictUmask() throws Exception {
    Tools.requireThat(Umask.root(tmp), "giving files to any group (chgrp) needs root");
    FileModes modes = FileModes.of("4242");
    try (Umask u = Umask.set(077)) {
      modes.createDirectories(tmp.resolve("root/backup"));
      modes.writeString(tmp.resolve("root/backup/manifest.json"), "{}");
    }
    for (String p : new String[] {"root", "root/backup"}) {
      assertThat(mode(tmp.resolve(p))).as(p).isEqualTo("rwxr-x---");
      assertThat(gid(tmp.resolve(p))).as(p).isEqualTo(4242);
    }
    assertThat(mode(tmp.resolve("root/backup/manifest.json"))).isEqualTo("rw-r-----");
    assertThat(gid(tmp.resolve("root/backup/manifest.json"))).isEqualTo(4242);
    assertThat(modes.describe()).isEqualTo("0750/0640, group 4242");
    assertThat(FileModes.ownerOnly().describe()).isEqualTo("0700/0600");
  }

  @Test
  void applyTreeSkipsWhatItIsToldAndNeverFollowsALink() throws Exception {
    Path backup = Files.createDirectories(tmp.resolve("backup"));
    Files.createDirectories(backup.resolve("database/dump"));
    Files.writeString(backup.resolve("database/dump/toc.dat"), "toc");
    Files.createDirectories(backup.resolve("home/shared"));
    Files.writeString(backup.resolve("home/shared/bitbucket.properties"), "x");
    Path outside = Files.writeString(tmp.resolve("outside"), "not ours");
    Files.createSymbolicLink(backup.resolve("database/link"), outside);
    for (Path p : new Path[] {backup, backup.resolve("database"), backup.resolve("database/dump"), backup.resolve("home"), backup.resolve("home/shared")}) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    for (Path p : new Path[] {backup.resolve("database/dump/toc.dat"), backup.resolve("home/shared/bitbucket.properties"), outside}) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
    }

    int changed = FileModes.ownerOnly().applyTree(backup, p -> p.equals(backup.resolve("home")));

    assertThat(changed).isEqualTo(4);
    assertThat(mode(backup)).isEqualTo("rwx------");
    assertThat(mode(backup.resolve("database/dump"))).isEqualTo("rwx------");
    assertThat(mode(backup.resolve("database/dump/toc.dat"))).isEqualTo("rw-------");
    assertThat(mode(backup.resolve("home"))).as("skipped").isEqualTo("rwxr-xr-x");
    assertThat(mode(backup.resolve("home/shared/bitbucket.properties"))).as("below what is skipped").isEqualTo("rw-r--r--");
    assertThat(mode(outside)).as("a link's target").isEqualTo("rw-r--r--");
    assertThat(FileModes.ownerOnly().applyTree(backup, p -> p.equals(backup.resolve("home")))).as("nothing left to change").isZero();
  }

  @Test
  void anUnknownGroupIsAConfigurationErrorNamingTheKey() {
    assertThat(FileModes.of(null)).isSameAs(FileModes.ownerOnly());
    assertThatThrownBy(() -> FileModes.of("no-such-group-here"))
        .isInstanceOf(SnapstashException.class)
        .hasMessage(
            "backup.group: 'no-such-group-here' is not a group on this host (see getent group); name an existing"
                + " group or give a numeric gid")
        .extracting(e -> ((SnapstashException) e).kind())
        .isEqualTo(ErrorKind.CONFIG);
  }

  @Test
  void octalIsWhatChmodTakes() {
    assertThat(FileModes.octal(PosixFilePermissions.fromString("rwxr-x---"))).isEqualTo("0750");
    assertThat(FileModes.octal(PosixFilePermissions.fromString("rw-------"))).isEqualTo("0600");
    assertThat(FileModes.octal(PosixFilePermissions.fromString("rwxrwxrwx"))).isEqualTo("0777");
  }

  static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  static int gid(Path p) throws Exception {
    return (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
  }
}
