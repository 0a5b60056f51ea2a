package dev.snapstash.core.util;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The modes of what snapstash itself writes under {@code backup.root}: directories 0700 and files 0600, or, with
 * {@code backup.group}, 0750 and 0640 in that group, so that a monitoring or off-site user in it can read backups
 * and nobody else can. A backup holds the company's source, the database dump (users, e-mail addresses, token
 * hashes) and {@code bitbucket.properties}.
 *
 * <p>Every mode is set explicitly after the file or directory is made (created owner-only, then the group, then the
 * final mode, so it is never open to anyone it should not be): the process umask never widens it, and the group's
 * bits survive a umask of 077. Why not set the process umask instead (through libc, as JNA allows): it is state of
 * the whole process, shared by every thread, while this is a library that also runs inside the sandbox, the
 * quickstart and the test JVMs, whose other files it would change; it would not reach a dump that H2 writes inside
 * another JVM; and a mode set on the file is checked where the file is, whoever launched the process. Files that a
 * child tool writes (pg_dump, mariadb-dump) get the modes when the tool has finished (see
 * {@code DumpFiles.writeChecksums}); until then the backup directory's own mode keeps everyone else out.
 *
 * <p>Only snapstash's own files: the copy of the home inside a backup keeps the modes and owners the home has, so
 * that a restore gives them back.
 */
public final class FileModes {
  /** The configuration key of the group. */
  public static final String GROUP_KEY = "backup.group";

  private static final Set<PosixFilePermission> OWNER_DIRECTORY = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> OWNER_FILE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> GROUP_DIRECTORY = PosixFilePermissions.fromString("rwxr-x---");
  private static final Set<PosixFilePermission> GROUP_FILE = PosixFilePermissions.fromString("rw-r-----");
  private static final FileAttribute<Set<PosixFilePermission>> CREATE_DIRECTORY =
      PosixFilePermissions.asFileAttribute(OWNER_DIRECTORY);
  private static final FileAttribute<Set<PosixFilePermission>> CREATE_FILE = PosixFilePermissions.asFileAttribute(OWNER_FILE);

  private static final FileModes OWNER_ONLY = new FileModes(null, null);

  private final GroupPrincipal group;
  private final String groupName;

  private FileModes(GroupPrincipal group, String groupName) {
    this.group = group;
    this.groupName = groupName;
  }

  /** 0700 and 0600: the default. */
  public static FileModes ownerOnly() {
    return OWNER_ONLY;
  }

  /**
   * 0750 and 0640 in {@code group} (a group name or a numeric gid); {@link #ownerOnly()} when it is null.
   *
   * @throws SnapstashException (CONFIG, naming {@value #GROUP_KEY}) when there is no such group
   */
  public static FileModes of(String group) {
    if (group == null) {
      return OWNER_ONLY;
    }
    try {
      return new FileModes(lookupGroup(group), group.strip());
    } catch (IllegalArgumentException e) {
      throw SnapstashException.config(GROUP_KEY + ": '" + group + "' " + e.getMessage());
    }
  }

  /**
   * The group named {@code nameOrGid}; a numeric gid need not have a name on this host.
   *
   * @throws IllegalArgumentException with a phrase that follows the quoted value
   */
  public static GroupPrincipal lookupGroup(String nameOrGid) {
    String g = nameOrGid.strip();
    if (g.isEmpty()) {
      throw new IllegalArgumentException("is empty; name a group or give a numeric gid, or leave the key out");
    }
    try {
      return FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByGroupName(g);
    } catch (UserPrincipalNotFoundException e) {
      throw new IllegalArgumentException("is not a group on this host (see getent group); name an existing group or give a numeric gid");
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot be looked up: " + e.getMessage());
    }
  }

  public Optional<GroupPrincipal> group() {
    return Optional.ofNullable(group);
  }

  public Set<PosixFilePermission> directoryMode() {
    return group == null ? OWNER_DIRECTORY : GROUP_DIRECTORY;
  }

  public Set<PosixFilePermission> fileMode() {
    return group == null ? OWNER_FILE : GROUP_FILE;
  }

  /** "0700/0600", or "0750/0640, group backup", for messages. */
  public String describe() {
    String modes = octal(directoryMode()) + "/" + octal(fileMode());
    return group == null ? modes : modes + ", group " + groupName;
  }

  /**
   * Creates {@code dir} and every missing parent with the directory mode and returns it. Directories that exist
   * are left as they are: the operator's, or made meanwhile by another thread.
   */
  public Path createDirectories(Path dir) throws IOException {
    Deque<Path> missing = new ArrayDeque<>();
    for (Path p = dir.toAbsolutePath(); p != null && !Files.exists(p); p = p.getParent()) {
      missing.push(p);
    }
    while (!missing.isEmpty()) {
      Path p = missing.pop();
      try {
        Files.createDirectory(p, CREATE_DIRECTORY);
      } catch (FileAlreadyExistsException e) {
        if (Files.isDirectory(p)) {
          continue;
        }
        throw e;
      }
      apply(p);
    }
    return dir;
  }

  /** Opens {@code file} with {@code options} (which should include CREATE) and gives it the file mode. */
  public FileChannel open(Path file, OpenOption... options) throws IOException {
    Set<OpenOption> opts = new HashSet<>(Set.of(options));
    FileChannel ch = FileChannel.open(file, opts, CREATE_FILE);
    try {
      // The creation mode covers a new file only; one left by an earlier run keeps its own until set here.
      apply(file);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    return ch;
  }

  /** A new or truncated {@code file} with the file mode, to write. */
  public OutputStream newOutputStream(Path file) throws IOException {
    return Channels.newOutputStream(
        open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE));
  }

  /** Writes {@code text} (UTF-8) to a new or truncated {@code file} with the file mode. */
  public void writeString(Path file, CharSequence text) throws IOException {
    try (OutputStream out = newOutputStream(file)) {
      out.write(text.toString().getBytes(StandardCharsets.UTF_8));
    }
  }

  /**
   * Gives one existing directory or regular file its mode (and group); anything else, a symbolic link above all,
   * is left alone. Returns whether anything changed.
   */
  public boolean apply(Path path) throws IOException {
    PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    PosixFileAttributes a = view.readAttributes();
    Set<PosixFilePermission> want;
    if (a.isDirectory()) {
      want = directoryMode();
    } else if (a.isRegularFile()) {
      want = fileMode();
    } else {
      return false;
    }
    boolean changed = false;
    // The group first: the group's bits must never apply to the group the file had before.
    if (group != null && !group.equals(a.group())) {
      view.setGroup(group);
      changed = true;
    }
    if (!a.permissions().equals(want)) {
      view.setPermissions(want);
      changed = true;
    }
    return changed;
  }

  /**
   * {@link #apply} to {@code root} and everything below it, without following links and without entering the
   * directories {@code skip} accepts (they keep their own modes, and so does their content). Returns how many
   * entries changed.
   */
  public int applyTree(Path root, Predicate<Path> skip) throws IOException {
    int[] changed = {0};
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        if (!dir.equals(root) && skip.test(dir)) {
          return FileVisitResult.SKIP_SUBTREE;
        }
        changed[0] += apply(dir) ? 1 : 0;
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        changed[0] += apply(file) ? 1 : 0;
        return FileVisitResult.CONTINUE;
      }
    });
    return changed[0];
  }

  /** A mode as {@code chmod} writes it, e.g. "0750". */
  public static String octal(Set<PosixFilePermission> mode) {
    int bits = 0;
    for (PosixFilePermission p : mode) {
      bits |= 0400 >> p.ordinal();
    }
    return String.format("0%03o", bits);
  }
}
