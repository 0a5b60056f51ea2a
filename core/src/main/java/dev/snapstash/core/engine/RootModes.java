package dev.snapstash.core.engine;

import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.util.FileModes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/** What the backup's preflight and {@code snapstash check} say about the backup root's own modes. */
final class RootModes {
  private RootModes() {}

  /**
   * The backup root's own modes, when it exists (snapstash creates a missing one with the store's modes). Writable
   * by group or others is a problem: anyone who can write there can delete or replace backups, or plant a link
   * where snapstash writes next (as root). That holds for the group of {@code backup.group} too, which is for
   * readers. Readable by others is a warning: they can list the backups' names, and read any backup an older
   * snapstash wrote with the umask's modes until the next backup tightens it. Returns false on a problem.
   */
  static boolean check(BackupStore store, Findings f) {
    Path root = store.root();
    PosixFileAttributes a;
    try {
      a = Files.readAttributes(root, PosixFileAttributes.class);
    } catch (NoSuchFileException e) {
      return true;
    } catch (IOException e) {
      f.problem("backup.root", "cannot read the modes of " + root + ": " + e.getMessage(), ErrorKind.STORAGE);
      return false;
    }
    Set<PosixFilePermission> mode = a.permissions();
    String octal = FileModes.octal(mode);
    if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
      f.problem(
          "backup.root",
          root + " is writable by " + (mode.contains(PosixFilePermission.OTHERS_WRITE) ? "other users" : "its group")
              + " (mode " + octal + "), who could delete or replace backups; run `chmod go-w " + root
              + "` (snapstash itself makes it " + FileModes.octal(store.modes().directoryMode()) + ")",
          ErrorKind.PRECONDITION);
      return false;
    }
    if (mode.contains(PosixFilePermission.OTHERS_READ) || mode.contains(PosixFilePermission.OTHERS_EXECUTE)) {
      f.warning(
          "backup.root",
          root + " is readable by other users (mode " + octal + "): they can list the backups, and read those an"
              + " older snapstash wrote with open modes until the next backup tightens them; run `chmod o-rwx "
              + root + "`");
    }
    store.modes().group().ifPresent(g -> {
      boolean groupEnters =
          g.equals(a.group()) && mode.contains(PosixFilePermission.GROUP_READ) && mode.contains(PosixFilePermission.GROUP_EXECUTE);
      boolean othersEnter = mode.contains(PosixFilePermission.OTHERS_READ) && mode.contains(PosixFilePermission.OTHERS_EXECUTE);
      if (!groupEnters && !othersEnter) {
        f.warning(
            "backup.group",
            "the group " + g.getName() + " cannot list " + root + " (mode " + octal + ", group " + a.group().getName()
                + "), so it cannot read the backups; run `chgrp " + g.getName() + " " + root + " && chmod g+rx " + root + "`");
      }
    });
    return true;
  }
}
